"""The detector interface and its registry."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from whosthat.core.registry import Registry
from whosthat.vision.face import Face


class Detector(Protocol):
    """Finds subjects in an RGB image. `identity` names it and its settings for caches and model files."""

    name: str

    @property
    def identity(self) -> str: ...

    def detect(self, image: np.ndarray) -> list[Face]:
        """Subjects in an (H, W, 3) uint8 RGB image, most confident first."""
        ...


DETECTORS: Registry[Detector] = Registry("detector")


def create_detector(name: str, **kwargs: object) -> Detector:
    """Build a registered detector by name (see `DETECTORS.names()`)."""
    return DETECTORS.create(name, **kwargs)
