"""Strangers: a face is named only when it looks enough like the photos of that member.

The score of a face for a class is its cosine similarity to the closest training photo of the
class. The threshold is calibrated on validation faces, each playing two parts: a member (its
similarity to its own class) and a stranger (its best similarity to any other class, which is
what it would score if its own class were not in the group).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


@dataclass(frozen=True)
class ThresholdCurve:
    """How the two error rates move with the threshold (for choosing it and for the report)."""

    thresholds: np.ndarray
    strangers_accepted: np.ndarray
    members_rejected: np.ndarray
    n_members: int
    n_strangers: int


def threshold_curve(member_scores: np.ndarray, stranger_scores: np.ndarray) -> ThresholdCurve:
    """Stranger acceptance and member rejection rates for thresholds from -1 to 1."""
    thresholds = np.linspace(-1.0, 1.0, 401, dtype=np.float32)
    accepted = (stranger_scores[None, :] >= thresholds[:, None]).mean(axis=1)
    rejected = (member_scores[None, :] < thresholds[:, None]).mean(axis=1)
    return ThresholdCurve(thresholds, accepted, rejected, len(member_scores), len(stranger_scores))


def calibrate(member_scores: np.ndarray, stranger_scores: np.ndarray, max_member_rejection: float = 0.03
              ) -> tuple[float, ThresholdCurve]:
    """The threshold with the fewest strangers accepted among those rejecting at most
    `max_member_rejection` of the members, and the curve it was chosen from."""
    curve = threshold_curve(member_scores, stranger_scores)
    allowed = curve.members_rejected <= max_member_rejection
    cost = np.where(allowed, curve.strangers_accepted + curve.members_rejected, np.inf)
    return float(curve.thresholds[int(np.argmin(cost))]), curve


def calibration_scores(similarity: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Member and simulated-stranger scores of labelled faces from their class similarities."""
    rows = np.arange(len(labels))
    member = similarity[rows, labels]
    others = similarity.copy()
    others[rows, labels] = -np.inf
    return member, others.max(axis=1)
