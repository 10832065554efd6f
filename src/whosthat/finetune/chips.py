"""The chip a network is trained on: the photo's largest subject (a face, or the whole picture), resized."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.embedders.imagenet import crop_chip
from whosthat.errors import ImageError
from whosthat.images import load_image
from whosthat.subjects import Detector


def subject_chip(path: Path, detector: Detector, size: int) -> Optional[np.ndarray]:
    """(size, size, 3) uint8 chip of the largest subject in the photo; None when unreadable or empty."""
    try:
        image = load_image(path)
    except ImageError:
        return None
    faces = detector.detect(image)
    if not faces:
        return None
    return crop_chip(image, max(faces, key=lambda f: f.area), size)
