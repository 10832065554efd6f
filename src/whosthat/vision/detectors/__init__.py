"""Finding subjects in an image: face detectors with landmarks, or the whole picture."""

from whosthat.vision.detectors import character, whole, yunet  # noqa: F401  (registers the detectors)
from whosthat.vision.detectors.base import DETECTORS, Detector, create_detector

__all__ = ["DETECTORS", "Detector", "create_detector"]
