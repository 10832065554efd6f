"""Several embedders side by side: their unit vectors concatenated and scaled back to unit length.

Any registered names joined by '+' make one (`create_embedder("arcface+facenet+dlib")`); the pairs
that are defaults are also registered by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np

from whosthat.core.errors import WhosthatError
from whosthat.vision.embedders.base import Embedder, normalise
from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.face import Face


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

    @property
    def settings(self) -> dict:
        """The parts' settings when they are all the same (`{"flip": False}` for facenet+dlib), else each part's
        in order under "parts"; with "renormalise": False for an ensemble's (which its member models rebuild)."""
        each = [p.settings for p in self.parts]
        settings = dict(each[0]) if all(s == each[0] for s in each) else {"parts": each}
        return settings if self.renormalise else {**settings, "renormalise": False}

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[tuple]:
        """Per face, the tuple of every part's chip."""
        return list(zip(*(p.chips(image, faces) for p in self.parts)))

    def embed(self, chips: Sequence[tuple]) -> np.ndarray:
        """(n, dim): each part's unit vector, concatenated (and normalised again when `renormalise`)."""
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        joined = np.hstack([p.embed([c[i] for c in chips]) for i, p in enumerate(self.parts)])
        return normalise(joined) if self.renormalise else joined.astype(np.float32)


def concatenate(names: Sequence[str], parts: Optional[Sequence[Mapping]] = None, renormalise: bool = True,
                **shared: object) -> Concatenated:
    """The registered embedders `names` side by side, each built with the same keywords (`shared`, e.g.
    flip=True) or with its own (`parts`, in order; `shared` fills in what a part leaves out)."""
    if parts is not None and len(parts) != len(names):
        raise WhosthatError(f"embedder {'+'.join(names)}: {len(parts)} parts' settings for {len(names)} parts")
    keywords = [{**shared, **part} for part in parts] if parts is not None else [shared] * len(names)
    return Concatenated([EMBEDDERS.create(name, **k) for name, k in zip(names, keywords)], renormalise)


@EMBEDDERS.register("facenet+dlib")
def facenet_dlib(**settings: Any) -> Concatenated:
    """FaceNet and dlib's ResNet together (256-d)."""
    return concatenate(["facenet", "dlib"], **settings)
