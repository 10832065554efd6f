"""Small inline pictures for HTML pages: photos shrunk to thumbnails as data URLs, a face boxed or cropped."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image, ImageDraw

from whosthat.core.errors import ImageError
from whosthat.vision.align import crop_box
from whosthat.vision.images import load_image

#: Colour of the box drawn around the face in a thumbnail.
BOX_COLOUR = (230, 25, 75)


def data_url(data: bytes, mime: str) -> str:
    """`data:` URL of some bytes, so a page carries its images inline."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def jpeg_url(picture: Image.Image, quality: int = 85) -> str:
    """A PIL image as an inline JPEG."""
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return data_url(buffer.getvalue(), "image/jpeg")


def has_box(box: Optional[np.ndarray | Sequence[float]]) -> bool:
    """Whether a stored box is a real one (NaN marks a photo where no face was found)."""
    return box is not None and bool(np.all(np.isfinite(box)))


def open_photo(path: Path) -> Optional[np.ndarray]:
    """The photo as RGB, or None when it is gone or unreadable (pages say so instead of failing)."""
    try:
        return load_image(path)
    except ImageError:
        return None


def boxed_thumbnail(image: np.ndarray, boxes: Sequence[Union[np.ndarray, Sequence[float]]] = (),
                    size: int = 240) -> Image.Image:
    """The whole photo shrunk to at most `size` px, with each face of `boxes` boxed (NaN boxes are skipped)."""
    picture = Image.fromarray(image)
    scale = min(1.0, size / max(picture.size))
    picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    draw = ImageDraw.Draw(picture)
    for box in boxes:
        if has_box(np.asarray(box, float)):
            x1, y1, x2, y2 = (float(v) * scale for v in box)
            draw.rectangle([x1, y1, x2, y2], outline=BOX_COLOUR, width=max(2, size // 80))
    return picture


def face_crop(image: np.ndarray, box: Optional[np.ndarray | Sequence[float]], size: int = 64,
              margin: float = 0.2) -> Image.Image:
    """A square crop around the face (the centre square of the photo when there is no box), `size` px."""
    if not has_box(box):
        height, width = image.shape[:2]
        side, left, top = min(width, height), (width - min(width, height)) / 2, (height - min(width, height)) / 2
        box, margin = np.array([left, top, left + side, top + side], np.float32), 0.0
    return Image.fromarray(crop_box(image, np.asarray(box, np.float32), size, margin))
