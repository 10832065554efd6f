"""Drawing predictions on a photo: a box, the name and the confidence for every face."""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from whosthat.prediction import Prediction

_PALETTE = [(230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
            (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40), (128, 0, 0), (0, 0, 128)]
_UNKNOWN_COLOUR = (160, 160, 160)


def colour(label: str) -> tuple[int, int, int]:
    """A stable colour per name (grey for unknown)."""
    if label == "unknown":
        return _UNKNOWN_COLOUR
    return _PALETTE[zlib.crc32(label.encode()) % len(_PALETTE)]


def draw_predictions(image: np.ndarray, predictions: Iterable[Prediction]) -> Image.Image:
    """A copy of the RGB image with every prediction drawn, sized to the photo."""
    picture = Image.fromarray(image).convert("RGB")
    draw = ImageDraw.Draw(picture)
    side = max(picture.size)
    width = max(2, side // 300)
    font = ImageFont.load_default(size=max(12, side // 45))
    for prediction in predictions:
        x1, y1, x2, y2 = (float(v) for v in prediction.box)
        tint = colour(prediction.label)
        draw.rectangle([x1, y1, x2, y2], outline=tint, width=width)
        text = prediction.label if prediction.is_unknown else f"{prediction.label} {prediction.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        tx, ty = x1, y1 - (bottom - top) - 2 * width
        if ty < 0:
            ty = y2 + width
        draw.rectangle([tx, ty, tx + right - left + 2 * width, ty + bottom - top + 2 * width], fill=tint)
        draw.text((tx + width - left, ty + width - top), text, fill=(255, 255, 255), font=font)
    return picture
