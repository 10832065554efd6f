"""`Prediction` (one face named) and `Predictions` (every face of one photo), with their JSON form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Optional, overload

import numpy as np
from PIL import Image

from whosthat.core.labels import UNKNOWN_LABEL


@dataclass(frozen=True, eq=False)
class Prediction:
    """Who one face is.

    box: (4,) ``x1, y1, x2, y2`` in pixels of the upright original image.
    label: a class name, or "unknown" when the face is not close enough to any member's photos
    (or its best name went to another face of the same photo).
    confidence: the head's probability of `label`; for "unknown", 1 minus the best probability.
    probabilities: every class's probability, as the head gave them.
    similarity: cosine similarity to the closest training photo of `label` (of the most probable class
    for "unknown"), one of the cues of the stranger score (`whosthat.recognition.openset`).
    landmarks: (5, 2) the face's landmarks in pixels, when its detector gives them.
    embedding: (dim,) the face's unit vector the name was given from (what a collection index keeps).
    """

    box: np.ndarray
    detection_score: float
    label: str
    confidence: float
    probabilities: dict[str, float]
    similarity: float
    landmarks: Optional[np.ndarray] = None
    embedding: Optional[np.ndarray] = None

    @property
    def is_unknown(self) -> bool:
        """Whether nobody of the group was named."""
        return self.label == UNKNOWN_LABEL

    def top(self, k: int = 2) -> list[tuple[str, float]]:
        """The k most probable names with their probabilities."""
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_dict(self) -> dict:
        """The face object of the CLI's JSON contract."""
        return {
            "box": [round(float(v), 1) for v in self.box],
            "detection_score": round(self.detection_score, 4),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }


@dataclass(frozen=True, eq=False)
class Predictions(Sequence[Prediction]):
    """The predictions for every face of one photo, largest face first, with the photo itself: a frozen
    sequence (a slice keeps the photo, its size and its error, as supervision's `Detections` does).

    faces: the `Prediction` of each face. source: the photo's name. width, height: its size in pixels
    (upright). image: the (H, W, 3) RGB photo when it was kept. error: why the photo could not be read.
    In a notebook it shows as the annotated photo; `annotate()` returns that picture.
    """

    faces: Sequence[Prediction]
    source: str
    width: int
    height: int
    image: Optional[np.ndarray] = None
    error: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "faces", tuple(self.faces))

    @overload
    def __getitem__(self, index: int) -> Prediction: ...

    @overload
    def __getitem__(self, index: slice) -> Predictions: ...

    def __getitem__(self, index: int | slice) -> Prediction | Predictions:
        if isinstance(index, slice):
            return replace(self, faces=self.faces[index])
        return self.faces[index]

    def __len__(self) -> int:
        return len(self.faces)

    @property
    def labels(self) -> list[str]:
        """The names given, one per face."""
        return [p.label for p in self]

    def to_dict(self) -> dict:
        """One JSON object of the CLI contract: image, size, faces, error."""
        return {"image": self.source, "width": self.width, "height": self.height,
                "faces": [p.to_dict() for p in self], "error": self.error}

    def annotate(self) -> Image.Image:
        """The photo with a box, name and confidence on every face."""
        from whosthat.vision.annotate import draw_predictions

        if self.image is None:
            raise ValueError("these predictions were made without keeping the image")
        return draw_predictions(self.image, self)

    def _repr_png_(self) -> Optional[bytes]:
        if self.image is None:
            return None
        import io

        buffer = io.BytesIO()
        self.annotate().save(buffer, format="PNG")
        return buffer.getvalue()
