"""The recogniser's view of embeddings: what it makes of each face for each class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Evidence:
    """What a recogniser makes of n faces, for each of its k classes.

    probabilities: (n, k) the head's probabilities, rows summing to 1.
    similarity: (n, k) cosine similarity to each class's closest training face.
    stranger: (n, k) stranger scores (a log-odds that the face is this member; compared with the threshold).
    """

    probabilities: np.ndarray
    similarity: np.ndarray
    stranger: np.ndarray
