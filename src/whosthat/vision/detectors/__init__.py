"""Finding subjects in an image: face detectors with landmarks, or the whole picture, registered by name
(`DETECTORS`, in `registry.py`); `create_detector` imports the one it builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.vision.detectors.registry import DETECTORS

if TYPE_CHECKING:
    from whosthat.vision.detectors.base import Detector


def create_detector(name: str, **kwargs: object) -> Detector:
    """Build a registered detector by name (see `DETECTORS.names()`)."""
    return DETECTORS.create(name, **kwargs)


__all__ = ["DETECTORS", "create_detector"]
