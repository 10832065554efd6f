"""Finding subjects in an image: face detectors with landmarks, or the whole picture, registered by name.

The registry lists its names without importing the detectors (OpenCV); `create_detector` imports the one it builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.registry import Registry

if TYPE_CHECKING:
    from whosthat.vision.detectors.base import Detector

DETECTORS: Registry[Detector] = Registry("detector", {
    "yunet": "whosthat.vision.detectors.yunet",
    "whole": "whosthat.vision.detectors.whole",
    "character": "whosthat.vision.detectors.character",
})


def create_detector(name: str, **kwargs: object) -> Detector:
    """Build a registered detector by name (see `DETECTORS.names()`)."""
    return DETECTORS.create(name, **kwargs)


__all__ = ["DETECTORS", "create_detector"]
