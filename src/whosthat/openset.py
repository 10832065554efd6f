"""Strangers: a face is named only when its stranger score for that member reaches a threshold.

The stranger score of a face for a class is the head's probability of the class plus the
face's cosine similarity to the closest training photo of the class (range -1 to 2). Measured on
kpop15 with members held out as strangers, the sum rejects more strangers at the same member
rejection than either part alone (bench/accuracy.py).

The threshold is calibrated the way it is measured, on photos the scoring head never saw:
each class in turn is held out of the group and its photos, scored by a head fitted on the
others, play the strangers; every photo, scored by a head fitted on the other folds of a
cross-validation, plays a member. (A fine-tuned network has seen its training photos, so there
only the validation photos are scored.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from whosthat.heads import Head, round_robin_folds

#: Classes held out in turn when calibrating; a larger group uses a seeded sample of this many.
MAX_HELD_OUT = 20
#: Share of members the calibrated threshold may call unknown. Below the 3 % a user would accept,
#: because the share is estimated from a sample: on kpop15 (5 folds, all 15 members held out in
#: turn) 2 % named 26.6 % of strangers and rejected 3.1 % of the test photos' members (bench/accuracy.py).
DEFAULT_MAX_MEMBER_REJECTION = 0.02


def class_similarity(X: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray, n_classes: int,
                     *, leave_one_out: bool = False) -> np.ndarray:
    """(n, n_classes): each row's best cosine similarity to the reference rows of each class.

    leave_one_out: X is the reference itself, and no row is compared with itself.
    """
    similarity = X @ reference.T
    if leave_one_out:
        np.fill_diagonal(similarity, -1.0)
    out = np.full((len(X), n_classes), -1.0, np.float32)
    for c in range(n_classes):
        members = reference_labels == c
        if members.any():
            out[:, c] = similarity[:, members].max(axis=1)
    return out


def stranger_scores(probabilities: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """(n, n_classes) scores: probability plus closest-photo similarity; higher is more like a member."""
    return probabilities + similarity


@dataclass(frozen=True)
class ThresholdCurve:
    """How the two error rates move with the threshold (for choosing it and for the report)."""

    thresholds: np.ndarray
    strangers_accepted: np.ndarray
    members_rejected: np.ndarray
    n_members: int
    n_strangers: int

    def index_for(self, max_member_rejection: float) -> int:
        """The point of the curve that accepts the fewest strangers while rejecting at most
        `max_member_rejection` of the members (the lowest threshold such, so that as few members as
        possible are lost)."""
        allowed = self.members_rejected <= max_member_rejection
        fewest = self.strangers_accepted[allowed].min()
        return int(np.flatnonzero(allowed & (self.strangers_accepted == fewest))[0])

    def threshold_for(self, max_member_rejection: float) -> float:
        """The threshold at `index_for(max_member_rejection)`."""
        return float(self.thresholds[self.index_for(max_member_rejection)])


def threshold_curve(member_scores: np.ndarray, stranger_scores: np.ndarray) -> ThresholdCurve:
    """Stranger acceptance and member rejection rates for thresholds across the score range."""
    thresholds = np.linspace(-1.0, 2.0, 601, dtype=np.float32)
    accepted = (stranger_scores[None, :] >= thresholds[:, None]).mean(axis=1)
    rejected = (member_scores[None, :] < thresholds[:, None]).mean(axis=1)
    return ThresholdCurve(thresholds, accepted, rejected, len(member_scores), len(stranger_scores))


def calibrate(member_scores: np.ndarray, stranger_scores: np.ndarray,
              max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION) -> tuple[float, ThresholdCurve]:
    """The threshold that accepts the fewest strangers while rejecting at most
    `max_member_rejection` of the members, and the curve it was chosen from.

    Members come first: with the default of 2 %, a member is rarely called unknown, and the
    share of strangers named at that point is what the benchmark reports. Raising the threshold
    at prediction time (`--threshold`) trades members for strangers.
    """
    curve = threshold_curve(member_scores, stranger_scores)
    return curve.threshold_for(max_member_rejection), curve


def simulate_strangers(head: Head, make_head: Callable[[], Head], X_train: np.ndarray, y_train: np.ndarray,
                       X_val: np.ndarray, y_val: np.ndarray, n_classes: int, seed: int = 0
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Member and stranger scores of the validation faces, holding each class out in turn.

    Members: every validation face scored by `head` (already fitted on all the training faces),
    for the class it names. Strangers: the validation faces of a held-out class, scored by a
    head from `make_head` fitted without it. With too few validation faces, the training faces
    stand in (each compared with the other training photos, leave one out).
    """
    leave_one_out = len(y_val) < 2 * n_classes
    if leave_one_out:
        X_val, y_val = X_train, y_train
    similarity = class_similarity(X_val, X_train, y_train, n_classes, leave_one_out=leave_one_out)
    members = _score_of_best(head.predict_proba(X_val), similarity)
    return members, _held_out_scores(make_head, X_train, y_train, X_val, y_val, seed)


def cross_validated_scores(make_head: Callable[[], Head], X: np.ndarray, y: np.ndarray, n_classes: int,
                           folds: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Member and stranger scores of every photo, each from a head that never saw it.

    Members: each photo scored by a head fitted on the other folds (`round_robin_folds`, which
    needs no fallback when members have fewer photos than folds, as few-shot groups do).
    Strangers: every photo of a held-out class, scored by a head fitted on the other classes. Using
    all the photos, not only the validation ones, estimates the threshold from several times more
    scores. Only for embeddings that did not learn from these photos (not a fine-tuned network's).
    """
    fold = round_robin_folds(y, folds, seed)
    members = []
    for k in np.unique(fold):
        scored, fitted = fold == k, fold != k
        probabilities = make_head().fit(X[fitted], y[fitted], n_classes).predict_proba(X[scored])
        members.append(_score_of_best(probabilities, class_similarity(X[scored], X[fitted], y[fitted], n_classes)))
    return np.concatenate(members), _held_out_scores(make_head, X, y, X, y, seed)


def _held_out_scores(make_head: Callable[[], Head], X_fit: np.ndarray, y_fit: np.ndarray, X_scored: np.ndarray,
                     y_scored: np.ndarray, seed: int) -> np.ndarray:
    """Stranger scores: for each class in turn (a seeded sample of MAX_HELD_OUT in larger groups), its
    `X_scored` rows scored by a head fitted on the `X_fit` rows of the other classes."""
    held_out = np.unique(y_scored)
    if len(held_out) > MAX_HELD_OUT:
        held_out = np.random.default_rng(seed).choice(held_out, MAX_HELD_OUT, replace=False)
    strangers = []
    for c in held_out:
        keep = y_fit != c
        others = np.unique(y_fit[keep])
        local = np.searchsorted(others, y_fit[keep])
        faces = X_scored[y_scored == c]
        if len(others) >= 2:
            probabilities = make_head().fit(X_fit[keep], local, len(others)).predict_proba(faces)
        else:
            probabilities = np.ones((len(faces), 1))
        similarity = class_similarity(faces, X_fit[keep], local, len(others))
        strangers.append(_score_of_best(probabilities, similarity))
    return np.concatenate(strangers) if strangers else np.zeros(0)


def _score_of_best(probabilities: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """Each face's stranger score for the class the head finds most probable."""
    best = probabilities.argmax(axis=1)
    return stranger_scores(probabilities, similarity)[np.arange(len(best)), best]
