"""Loading: every format and mode a user may have becomes an upright (H, W, 3) uint8 array, or one clear error."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BLACKPINK_GROUP, require
from whosthat import ImageError, load_image
from whosthat.vision.images import is_image_path


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A real photo, scaled down so every format round trip is quick (320 x 240)."""
    require(BLACKPINK_GROUP)
    return Image.open(BLACKPINK_GROUP).convert("RGB").resize((320, 240))


@pytest.mark.parametrize(
    ("suffix", "pil_format", "lossless"),
    [
        (".jpg", "JPEG", False),
        (".png", "PNG", True),
        (".webp", "WEBP", False),
        (".bmp", "BMP", True),
        (".tiff", "TIFF", True),
        (".gif", "GIF", False),
    ],
)
def test_formats_load_as_rgb(tmp_path: Path, photo: Image.Image, suffix: str, pil_format: str, lossless: bool):
    path = tmp_path / f"photo{suffix}"
    photo.save(path, format=pil_format)
    array = load_image(path)
    assert array.shape == (240, 320, 3)
    assert array.dtype == np.uint8
    reference = np.asarray(photo, dtype=np.int16)
    error = np.abs(array.astype(np.int16) - reference).mean()
    assert error < (0.5 if lossless else 20.0), f"{suffix}: mean error {error:.1f} against the original"


def test_gif_gives_its_first_frame(tmp_path: Path, photo: Image.Image):
    red, blue = Image.new("RGB", (64, 48), (255, 0, 0)), Image.new("RGB", (64, 48), (0, 0, 255))
    path = tmp_path / "anim.gif"
    red.save(path, save_all=True, append_images=[blue, blue], duration=100, loop=0)
    array = load_image(path)
    assert array.shape == (48, 64, 3)
    assert array[..., 0].mean() > 200 and array[..., 2].mean() < 50, "not the first (red) frame"


def test_exif_orientation_is_applied(tmp_path: Path, photo: Image.Image):
    """Orientation 6 means: rotate 90 degrees clockwise to show it upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    photo.save(path, format="JPEG", exif=exif, quality=95)
    array = load_image(path)
    assert array.shape == (320, 240, 3), "EXIF orientation 6 not applied: width and height not swapped"
    expected = np.asarray(photo.transpose(Image.Transpose.ROTATE_270), dtype=np.int16)
    assert np.abs(array.astype(np.int16) - expected).mean() < 10, "rotated the wrong way"


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA", "CMYK", "I;16", "1", "I", "F"])
def test_modes_become_rgb_uint8(tmp_path: Path, photo: Image.Image, mode: str):
    if mode == "P":
        image = photo.convert("P", palette=Image.Palette.ADAPTIVE)
    elif mode == "I;16":
        image = Image.fromarray(np.asarray(photo.convert("L"), np.uint16) * np.uint16(257))
    else:
        image = photo.convert(mode)
    fmt, suffix = {"CMYK": ("JPEG", ".jpg"), "I": ("TIFF", ".tiff"), "F": ("TIFF", ".tiff")}.get(mode, ("PNG", ".png"))
    path = tmp_path / f"mode{suffix}"
    image.save(path, format=fmt)
    array = load_image(path)
    assert array.shape == (240, 320, 3)
    assert array.dtype == np.uint8
    grey = np.asarray(photo.convert("L"), np.int16)
    # Whatever the mode, the picture must still be the photo (not black, not saturated, not noise);
    # a 1-bit image is dithered, so it resembles the photo less pixel by pixel.
    correlation = np.corrcoef(array.astype(np.float64).mean(axis=2).ravel(), grey.ravel())[0, 1]
    assert correlation > (0.4 if mode == "1" else 0.9), f"{mode}: correlation {correlation:.2f} with the photo"


def test_sixteen_bit_keeps_its_brightness(tmp_path: Path):
    ramp = (np.linspace(0, 65535, 256)[None, :].repeat(8, axis=0)).astype(np.uint16)
    path = tmp_path / "ramp16.png"
    Image.fromarray(ramp).save(path)
    array = load_image(path)
    assert array[0, 0, 0] == 0 and array[0, -1, 0] == 255
    assert abs(int(array[0, 128, 0]) - 128) <= 2


def test_transparent_pixels_become_white(tmp_path: Path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:5, :, :] = (255, 0, 0, 255)  # opaque red top half, transparent bottom half
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    array = load_image(path)
    assert tuple(array[0, 0]) == (255, 0, 0)
    assert tuple(array[9, 9]) == (255, 255, 255)


@pytest.mark.parametrize("kind", ["path-str", "path", "bytes", "pil", "array-rgb", "array-rgba", "array-grey"])
def test_sources(tmp_path: Path, photo: Image.Image, kind: str):
    path = tmp_path / "photo.png"
    photo.save(path)
    rgb = np.asarray(photo)
    source = {
        "path-str": str(path), "path": path, "bytes": path.read_bytes(), "pil": photo,
        "array-rgb": rgb, "array-rgba": np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
        "array-grey": rgb[..., 0],
    }[kind]
    array = load_image(source)
    assert array.shape == (240, 320, 3) and array.dtype == np.uint8
    expected = np.repeat(rgb[..., :1], 3, axis=2) if kind == "array-grey" else rgb
    assert np.array_equal(array, expected)


def _truncated_jpeg(photo: Image.Image) -> bytes:
    buffer = io.BytesIO()
    photo.save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    return data[: len(data) // 2]


def _bomb_png() -> bytes:
    """A 20000 x 20000 1-bit PNG: 400 million pixels in a file of a few kilobytes."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "words"),
    [
        ("empty.jpg", lambda photo: b"", "empty"),
        ("notes.jpg", lambda photo: b"these are my notes, not a photo\n" * 20, "not an image"),
        ("truncated.jpg", _truncated_jpeg, "truncated"),
        ("bomb.png", lambda photo: _bomb_png(), "decompression bomb"),
    ],
)
def test_bad_files_raise_image_error_naming_the_file(tmp_path: Path, photo: Image.Image, name, make, words):
    path = tmp_path / name
    path.write_bytes(make(photo))
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message, f"the message does not name the file: {message}"
    assert words in message, f"the message does not say why ({words!r}): {message}"


def test_bomb_file_is_small(tmp_path: Path):
    """The point of a decompression bomb: a tiny file that would need gigabytes once decoded."""
    assert len(_bomb_png()) < 200_000


def test_max_pixels_is_honoured(tmp_path: Path, photo: Image.Image):
    path = tmp_path / "photo.png"
    photo.save(path)
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(path, max_pixels=320 * 240 - 1)
    assert load_image(path, max_pixels=320 * 240).shape == (240, 320, 3)


def test_missing_file(tmp_path: Path):
    path = tmp_path / "nowhere.jpg"
    with pytest.raises(ImageError, match="no such file") as info:
        load_image(path)
    assert str(path) in str(info.value)


def test_folder_is_not_an_image(tmp_path: Path):
    with pytest.raises(ImageError, match="folder") as info:
        load_image(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    ("array", "words"),
    [(np.zeros((4, 4, 3), np.float32), "uint8"), (np.zeros((4, 4, 2), np.uint8), "(H, W"),
     (np.zeros((4,), np.uint8), "(H, W")],
)
def test_bad_arrays(array: np.ndarray, words: str):
    with pytest.raises(ImageError, match=words.replace("(", r"\(")):
        load_image(array)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jpg", True), ("a.JPEG", True), ("a.png", True), ("a.webp", True), ("a.gif", True), ("a.tif", True),
     ("a.bmp", True), (".hidden.jpg", False), ("notes.txt", False), ("a.jpg.part", False), ("Thumbs.db", False)],
)
def test_is_image_path(name: str, expected: bool):
    assert is_image_path(Path(name)) is expected


def test_errors_carry_the_source_and_the_reason_apart(tmp_path: Path, photo: Image.Image):
    """Callers use the fields (serve answers 413 for a too-large image by its type), never the message's text."""
    import pickle

    from whosthat.core.errors import ImageTooLargeError

    path = tmp_path / "photo.png"
    photo.save(path)
    with pytest.raises(ImageTooLargeError) as too_large:
        load_image(path.read_bytes(), max_pixels=100)
    assert too_large.value.source == "<bytes>" and "over the limit of 100" in too_large.value.reason
    with pytest.raises(ImageError) as missing:
        load_image(tmp_path / "gone.jpg")
    assert not isinstance(missing.value, ImageTooLargeError)
    assert (missing.value.source, missing.value.reason) == (str(tmp_path / "gone.jpg"), "no such file")
    again = pickle.loads(pickle.dumps(too_large.value))  # as a Ray worker sends it back
    assert type(again) is ImageTooLargeError and (again.source, again.reason) == (too_large.value.source,
                                                                                  too_large.value.reason)
