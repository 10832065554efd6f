"""Several embedders side by side: their unit vectors concatenated and scaled back to unit length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from whosthat.embedders.base import EMBEDDERS, Embedder, normalise
from whosthat.face import Face


class Concatenated:
    """Concatenation of several embedders; a chip is the tuple of each part's chip.

    renormalise: scale the joined vector to unit length (an ensemble keeps each part's own instead).
    """

    def __init__(self, parts: Sequence[Embedder], renormalise: bool = True) -> None:
        self.parts = list(parts)
        self.renormalise = renormalise
        self.name = "+".join(p.name for p in self.parts)
        self.dim = sum(p.dim for p in self.parts)

    @property
    def identity(self) -> str:
        """The parts' identities joined (in brackets when the joined vector is not normalised again)."""
        joined = "+".join(p.identity for p in self.parts)
        return joined if self.renormalise else f"[{joined}]"

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[tuple]:
        """Per face, the tuple of every part's chip."""
        return list(zip(*(p.chips(image, faces) for p in self.parts)))

    def embed(self, chips: Sequence[tuple]) -> np.ndarray:
        """(n, dim): each part's unit vector, concatenated (and normalised again when `renormalise`)."""
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        joined = np.hstack([p.embed([c[i] for c in chips]) for i, p in enumerate(self.parts)])
        return normalise(joined) if self.renormalise else joined.astype(np.float32)


@EMBEDDERS.register("facenet+dlib")
def facenet_dlib(flip: bool = False) -> Concatenated:
    """FaceNet and dlib's ResNet together (256-d)."""
    return Concatenated([EMBEDDERS.create("facenet", flip=flip), EMBEDDERS.create("dlib", flip=flip)])
