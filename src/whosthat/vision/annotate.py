"""Drawing predictions on a photo: a box, the name and the confidence for every face."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from whosthat.core.files import atomic_file
from whosthat.core.labels import UNKNOWN_LABEL


class Drawable(Protocol):
    """What is drawn of a face: its box (x1, y1, x2, y2 in pixels), name and the confidence in it
    (a `whosthat.Prediction`, or a video track's pooled name)."""

    @property
    def box(self) -> np.ndarray: ...

    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...

_PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
            (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128)]
_UNKNOWN_COLOUR = (160, 160, 160)


def colour(label: str) -> tuple[int, int, int]:
    """A stable colour per name (grey for unknown)."""
    if label == UNKNOWN_LABEL:
        return _UNKNOWN_COLOUR
    return _PALETTE[zlib.crc32(label.encode()) % len(_PALETTE)]


def draw_predictions(image: np.ndarray, predictions: Iterable[Drawable]) -> Image.Image:
    """A copy of the RGB image with every prediction drawn.

    Text is sized to the face (so neighbours in a group photo do not cover each other) and a
    label that would overlap one already drawn goes below its box instead of above.
    """
    picture = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(picture)
    line = max(2, max(picture.size) // 400)
    placed: list[tuple[float, float, float, float]] = []
    for prediction in predictions:
        x1, y1, x2, y2 = (float(v) for v in prediction.box)
        tint = colour(prediction.label)
        draw.rectangle([x1, y1, x2, y2], outline=tint, width=line)
        unknown = prediction.label == UNKNOWN_LABEL
        text = prediction.label if unknown else f"{prediction.label} {prediction.confidence:.0%}"
        size = int(np.clip(2.0 * (x2 - x1) / max(len(text), 1), 14, max(14, max(picture.size) / 40)))
        font = ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        width, height = right - left + 2 * line, bottom - top + 2 * line
        above = (x1, y1 - height - line, x1 + width, y1 - line)
        below = (x1, y2 + line, x1 + width, y2 + line + height)
        label = below if above[1] < 0 or any(_overlaps(above, other) for other in placed) else above
        placed.append(label)
        draw.rectangle(label, fill=tint)
        draw.text((label[0] + line - left, label[1] + line - top), text, fill=(255, 255, 255), font=font)
    return picture


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


#: The comment every annotated photo whosthat writes carries: such a file may be replaced by a newer one.
MARK = b"whosthat"


def is_annotated_photo(path: Path) -> bool:
    """Whether the file at `path` is an annotated photo whosthat wrote (a JPEG with its comment)."""
    try:
        with Image.open(path) as image:
            return image.info.get("comment") == MARK
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def save_annotated(image: Image.Image, path: str | os.PathLike) -> Path:
    """Write an annotated photo as JPEG, whole or not at all, over one whosthat wrote but no other file."""
    with atomic_file(path, ours=is_annotated_photo) as stream:
        image.save(stream, format="JPEG", quality=92, comment=MARK)
    return Path(path)
