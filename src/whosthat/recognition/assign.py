"""Group photos: each member is given to at most one face, by an assignment over probabilities."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

UNKNOWN = -1


def assign_labels(probabilities: np.ndarray, accepted: np.ndarray, min_probability: float = 0.05) -> np.ndarray:
    """Labels (class index, or UNKNOWN = -1) for the faces of one photo.

    probabilities: (n_faces, n_classes) from the head; accepted: (n_faces, n_classes) bool, whether
    the face is close enough to that class's photos (the stranger test). A face whose best class is
    not accepted is unknown. The others share the classes by the assignment of highest total
    log-probability; a face that loses its best class takes its next accepted class of probability
    at least `min_probability`, or unknown.
    """
    n_faces, n_classes = probabilities.shape
    labels = np.full(n_faces, UNKNOWN, dtype=np.int64)
    if n_faces == 0:
        return labels
    best = probabilities.argmax(axis=1)
    candidates = np.flatnonzero(accepted[np.arange(n_faces), best])
    if len(candidates) == 0:
        return labels
    p = probabilities[candidates]
    allowed = accepted[candidates] & (p >= min_probability)
    allowed[np.arange(len(candidates)), best[candidates]] = True
    impossible = 1e6
    cost = np.where(allowed, -np.log(np.maximum(p, 1e-12)), impossible)
    unknown_cost = np.full((len(candidates), len(candidates)), impossible)
    np.fill_diagonal(unknown_cost, -np.log(min_probability))
    rows, cols = linear_sum_assignment(np.hstack([cost, unknown_cost]))
    for row, col in zip(rows, cols):
        if col < n_classes and cost[row, col] < impossible:
            labels[candidates[row]] = col
    return labels


def named_class(probabilities: np.ndarray, label: int) -> tuple[int, float]:
    """For one face (or track) given `label` (a class index, or `UNKNOWN`): the class its cues are read for (its
    label's, or the most probable one for unknown) and its confidence (the label's probability, or for unknown
    1 minus the best probability). The one rule every named face follows."""
    best = int(np.argmax(probabilities))
    if label == UNKNOWN:
        return best, float(1 - probabilities[best])
    return int(label), float(probabilities[label])
