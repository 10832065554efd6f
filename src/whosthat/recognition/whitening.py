"""Within-class whitening (WCCN) of face embeddings, fitted on the group's own training faces.

One person's photos vary along some directions of the embedding (pose, light, make-up, age)
more than people differ along them; the map rescales the space so that this within-person
spread is the same in every direction, then vectors are made unit length again. On face
embeddings it names more faces right and fewer strangers (bench/README.md, "Settings and what
chose them"; `bench/accuracy.py --also-unwhitened`).
"""

from __future__ import annotations

import numpy as np

from whosthat.vision.vectors import normalise

#: Weight of the identity blended into the within-class covariance: a covariance estimated from a
#: few photos per person is noisy, and kpop15 and blackpink did best between 0.5 and 0.7.
SHRINKAGE = 0.7


def fit_whitening(X: np.ndarray, y: np.ndarray, shrinkage: float = SHRINKAGE) -> np.ndarray:
    """(dim, dim) matrix W such that the rows of X @ W, minus their class means, have (shrunk) unit covariance."""
    X = np.asarray(X, np.float64)
    classes, index = np.unique(y, return_inverse=True)
    means = np.stack([X[index == k].mean(axis=0) for k in range(len(classes))])
    spread = X - means[index]
    covariance = spread.T @ spread / max(len(X), 1)
    scale = np.trace(covariance) / len(covariance)
    covariance = (1 - shrinkage) * covariance + shrinkage * scale * np.eye(len(covariance))
    values, vectors = np.linalg.eigh(covariance)
    return ((vectors / np.sqrt(np.maximum(values, 1e-12 * scale))) @ vectors.T).astype(np.float32)


def whiten(X: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rows mapped by a `fit_whitening` matrix and scaled back to unit length."""
    return normalise(np.asarray(X, np.float32) @ matrix)


def unwhiten(W: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The unit rows `whiten` made `W` from (the matrix is symmetric and, shrunk towards the identity, well
    conditioned, so its inverse brings their directions back)."""
    return normalise(np.asarray(W, np.float64) @ np.linalg.inv(np.asarray(matrix, np.float64))).astype(np.float32)
