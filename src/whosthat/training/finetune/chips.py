"""The chip a network is trained on: the photo's largest subject (a face, or the whole picture), resized."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.errors import ImageError
from whosthat.vision.cache import EmbeddingCache, content_hash
from whosthat.vision.detectors.base import Detector
from whosthat.vision.embedders.imagenet import crop_chip
from whosthat.vision.extract import detect_cached
from whosthat.vision.images import load_image


def subject_chip(path: Path, detector: Detector, size: int, cache: Optional[EmbeddingCache] = None
                 ) -> Optional[np.ndarray]:
    """(size, size, 3) uint8 chip of the largest subject in the photo; None when unreadable or empty.

    cache: where the detector's faces are looked up and kept, so that embedding the photos with
    the fine-tuned network afterwards does not detect them again.
    """
    try:
        data = path.read_bytes()
        image = load_image(data)
    except (OSError, ImageError):
        return None
    faces = detect_cached(detector, image, content_hash(data), cache)
    if not faces:
        return None
    return crop_chip(image, max(faces, key=lambda f: f.area), size)
