"""Finding subjects in an image: face detectors with landmarks, or the whole picture."""

from whosthat.subjects.base import DETECTORS, Detector, create_detector
from whosthat.subjects import whole, yunet  # noqa: F401  (registers the detectors)

__all__ = ["DETECTORS", "Detector", "create_detector"]
