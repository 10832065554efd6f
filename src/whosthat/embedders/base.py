"""The embedder interface and its registry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from whosthat.face import Face
from whosthat.registry import Registry


class Embedder(Protocol):
    """Maps subjects to L2-normalised vectors of `dim` floats.

    Embedding is two steps so that chips from many images can be batched: `chips` cuts each
    subject out of its image the way this embedder was trained to see it (its own alignment),
    and `embed` turns a batch of those chips into vectors.
    """

    name: str
    dim: int

    @property
    def identity(self) -> str: ...

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[Any]:
        """One aligned chip per face, in this embedder's own form."""
        ...

    def embed(self, chips: Sequence[Any]) -> np.ndarray:
        """(n, dim) float32 unit vectors for n chips."""
        ...


EMBEDDERS: Registry[Embedder] = Registry("embedder")


def create_embedder(name: str, **kwargs: object) -> Embedder:
    """Build a registered embedder by name (see `EMBEDDERS.names()`)."""
    return EMBEDDERS.create(name, **kwargs)


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
