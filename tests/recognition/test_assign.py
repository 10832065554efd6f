"""Group photos: each member goes to at most one face (an assignment, not a per-face argmax)."""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.recognition.assign import UNKNOWN, assign_labels

ALL = None  # every (face, class) accepted


@pytest.mark.parametrize(
    ("probabilities", "accepted", "expected"),
    [
        # Distinct best classes: every face keeps its own.
        ([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], ALL, [0, 1, 2]),
        # Two faces want class 0: the more certain keeps it, the other takes its next class.
        ([[0.9, 0.08, 0.02], [0.6, 0.35, 0.05]], ALL, [0, 1]),
        # ... whichever order the faces come in.
        ([[0.6, 0.35, 0.05], [0.9, 0.08, 0.02]], ALL, [1, 0]),
        # The loser's next class is below min_probability (0.05): unknown rather than a wild guess.
        ([[0.97, 0.02, 0.01], [0.96, 0.03, 0.01]], ALL, [0, UNKNOWN]),
        # A face whose best class is not accepted (a stranger) is unknown, even if it is alone.
        ([[0.9, 0.1]], [[False, True]], [UNKNOWN]),
        # The loser's next class is not accepted: unknown.
        ([[0.9, 0.1], [0.7, 0.3]], [[True, False], [True, False]], [0, UNKNOWN]),
        # More faces than classes: no name twice; the best total, not the face order, decides who is left out.
        ([[0.8, 0.2], [0.7, 0.3], [0.6, 0.4]], ALL, [0, UNKNOWN, 1]),
        # Total log-probability decides: swapping would cost more than it gains.
        ([[0.5, 0.5, 0.0], [0.9, 0.1, 0.0]], ALL, [1, 0]),
    ],
)
def test_assign_labels(probabilities, accepted, expected):
    p = np.asarray(probabilities, dtype=np.float64)
    ok = np.ones(p.shape, bool) if accepted is None else np.asarray(accepted)
    assert assign_labels(p, ok).tolist() == expected


def test_no_faces():
    labels = assign_labels(np.zeros((0, 4)), np.zeros((0, 4), bool))
    assert labels.shape == (0,) and labels.dtype == np.int64


@pytest.mark.parametrize("seed", range(20))
def test_never_a_name_twice(seed: int):
    """Random group photos of up to 8 faces among 5 members: names are unique, best-accepted rule holds."""
    rng = np.random.default_rng(seed)
    n_faces, n_classes = rng.integers(1, 9), 5
    p = rng.dirichlet(np.full(n_classes, 0.3), size=n_faces)
    accepted = rng.random((n_faces, n_classes)) < 0.8
    labels = assign_labels(p, accepted)
    named = labels[labels != UNKNOWN]
    assert len(set(named.tolist())) == len(named), f"a name given twice: {labels}"
    best = p.argmax(axis=1)
    for face, label in enumerate(labels):
        if not accepted[face, best[face]]:
            assert label == UNKNOWN, "a face whose best class is a stranger's got a name"
        if label != UNKNOWN:
            assert accepted[face, label]
