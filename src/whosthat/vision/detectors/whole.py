"""The whole picture as the one subject: for images that are already tight crops."""

from __future__ import annotations

import numpy as np

from whosthat.vision.detectors.registry import DETECTORS
from whosthat.vision.face import Face


@DETECTORS.register("whole")
class WholeImage:
    """Returns the whole image as a single subject without landmarks."""

    name = "whole"
    identity = "whole"

    def detect(self, image: np.ndarray) -> list[Face]:
        """One subject covering the image."""
        return [Face.whole_image(image.shape[1], image.shape[0])]
