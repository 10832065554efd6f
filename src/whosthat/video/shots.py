"""Cuts between shots: where the picture changes at once, tracks end (the face in the same place is new)."""

from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

#: Bhattacharyya distance between the colour histograms of two analysed frames above which they are taken to
#: belong to different shots (0: the same colours, 1: none in common). A pan or a zoom moves the picture but
#: keeps most of its colours.
CUT_DISTANCE = 0.5
#: Side of the thumbnail the histogram is taken from (the colours, not the detail, matter).
_THUMBNAIL = 64


class CutDetector:
    """Compares each analysed frame's hue-saturation-value histogram with the previous one's."""

    def __init__(self, distance: float = CUT_DISTANCE) -> None:
        self.distance = distance
        self._previous: Optional[np.ndarray] = None

    def __call__(self, image: np.ndarray) -> bool:
        """Whether `image` (RGB) starts a new shot; the first frame does not."""
        height, width = image.shape[:2]
        scale = _THUMBNAIL / max(height, width)
        small = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))),
                           interpolation=cv2.INTER_AREA)
        hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
        histogram = cv2.calcHist([hsv], [0, 1, 2], None, [16, 4, 4], [0, 180, 0, 256, 0, 256])
        cv2.normalize(histogram, histogram)
        previous, self._previous = self._previous, histogram
        if previous is None:
            return False
        return bool(cv2.compareHist(previous, histogram, cv2.HISTCMP_BHATTACHARYYA) > self.distance)
