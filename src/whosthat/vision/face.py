"""`Face`: one subject found in an image, the value passed from detectors to embedders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True, eq=False)
class Face:
    """A face (or a whole-image subject) in pixels of the upright original image.

    box: (4,) float32 ``x1, y1, x2, y2``.
    landmarks: (5, 2) float32 ``x, y`` of right eye, left eye, nose tip, right and left mouth
    corners (as seen by the viewer: the first eye is on the left of the picture), or None for a
    whole-image subject that has none.
    score: detector confidence in [0, 1]; 1.0 for a whole-image subject.
    """

    box: np.ndarray
    landmarks: Optional[np.ndarray]
    score: float

    def __post_init__(self) -> None:
        box = np.asarray(self.box, dtype=np.float32).reshape(4)
        object.__setattr__(self, "box", box)
        if self.landmarks is not None:
            object.__setattr__(self, "landmarks", np.asarray(self.landmarks, dtype=np.float32).reshape(5, 2))
        object.__setattr__(self, "score", float(self.score))

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        x1, y1, x2, y2 = self.box
        return float(max(0.0, x2 - x1) * max(0.0, y2 - y1))

    def to_array(self) -> np.ndarray:
        """(15,) float32: box, landmarks (NaN when absent) and score, for caches and model files."""
        landmarks = self.landmarks if self.landmarks is not None else np.full((5, 2), np.nan, np.float32)
        return np.concatenate([self.box, landmarks.reshape(10), [self.score]]).astype(np.float32)

    @classmethod
    def from_array(cls, row: np.ndarray) -> Face:
        """Inverse of `to_array`."""
        landmarks = None if np.isnan(row[4:14]).any() else row[4:14].reshape(5, 2)
        return cls(box=row[:4], landmarks=landmarks, score=float(row[14]))

    @classmethod
    def whole_image(cls, width: int, height: int) -> Face:
        """The subject that is the whole picture (already-cropped faces, non-face characters)."""
        return cls(box=np.array([0, 0, width, height], np.float32), landmarks=None, score=1.0)
