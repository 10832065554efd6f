"""The detector interface (the registry is `whosthat.vision.detectors.DETECTORS`)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from whosthat.vision.face import Face


class Detector(Protocol):
    """Finds subjects in an RGB image. `identity` names it and its settings for caches and model files."""

    name: str

    @property
    def identity(self) -> str: ...

    def detect(self, image: np.ndarray) -> list[Face]:
        """Subjects in an (H, W, 3) uint8 RGB image, most confident first."""
        ...

