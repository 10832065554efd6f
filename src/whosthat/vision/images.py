"""Open any image a user may have as an RGB uint8 array, upright, or fail with one clear error."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from whosthat.core.errors import ImageError, ImageTooLargeError

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]

#: File suffixes scanned as images in a collection (compared lower-case).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})

#: Images with more pixels than this are refused as possible decompression bombs (about 16k x 4k).
MAX_PIXELS = 64_000_000


def is_image_path(path: Path) -> bool:
    """Whether a file name looks like an image whosthat reads (by suffix, hidden files excluded)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def load_image(source: ImageSource, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Return the image as an (H, W, 3) uint8 RGB array after EXIF orientation.

    Accepts a path, the file's bytes, a PIL image or an array (grey or RGB/RGBA uint8).
    Grey, palette, alpha, CMYK and 16-bit images become RGB; GIFs give their first frame.
    Raises `ImageError` for a missing, empty, truncated, non-image or oversized input.
    """
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source)
    name = "<bytes>" if isinstance(source, bytes) else str(source)
    data = source if isinstance(source, bytes) else _read_bytes(source)
    if not data:
        raise ImageError(name, "empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLargeError(name, f"{width}x{height} pixels is over the limit of {max_pixels:,} "
                                               "(a possible decompression bomb)")
            image.seek(0)
            image.load()
            return _pil_to_rgb(image)
    except UnidentifiedImageError:
        raise ImageError(name, "not an image file whosthat can read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(name, "too many pixels (a possible decompression bomb)") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(name, f"broken or truncated image ({error})") from None


def _read_bytes(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise ImageError(str(path), "no such file") from None
    except IsADirectoryError:
        raise ImageError(str(path), "is a folder, not an image") from None
    except OSError as error:
        raise ImageError(str(path), f"cannot be read ({error.strerror})") from None


def _pil_to_rgb(image: Image.Image) -> np.ndarray:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        grey = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        raise ImageError("<array>", f"must be uint8, got {array.dtype}")
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return np.ascontiguousarray(array[:, :, :3])
    raise ImageError("<array>", f"must be (H, W), (H, W, 3) or (H, W, 4), got {array.shape}")
