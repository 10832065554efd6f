"""Strangers: a face is named only when its stranger score for that member reaches a threshold.

A face's stranger score for a class combines three cues, each higher for a member: the head's
probability of the class, the cosine similarity to the closest training photo of the class, and
the similarity to the mean of the class's training photos. A logistic regression learns their
weights (`StrangerScore`) from the same held-out photos the threshold is calibrated on; model
files made before it combine the first two by their sum.

Score and threshold are learned the way they are measured, on photos the scoring head never saw:
each class in turn is held out of the group and its photos, scored by a head fitted on the
others, play the strangers; every photo, scored by a head fitted on the other folds of a
cross-validation, plays a member. Whatever the head learns from (the within-class whitening
included) is fitted again inside each fold, so no photo is scored in a space fitted to it. (A
fine-tuned network has seen its training photos, so there only the validation photos are scored.)

Photos of people known not to be members (negatives: other idols, for a K-pop group) are real
strangers, used as open-set recognition with known negatives does (Günther et al., "Toward Open-Set
Face Recognition", 2017): the head learns them as one more class, "the others", whose share of a
face's probability no member gets (so a face like theirs scores low on every member); and, each
scored by a head that saw no photo of its person, they join the simulated strangers in learning the
score and in choosing the threshold. The curve keeps the share of them named apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Optional

import numpy as np

from whosthat.core.arrays import nest, part
from whosthat.recognition import whitening
from whosthat.recognition.heads import Head, out_of_fold, round_robin_folds
from whosthat.vision.vectors import normalise

#: Classes held out in turn when calibrating; a larger group uses a seeded sample of this many.
MAX_HELD_OUT = 20
#: Share of members the calibrated threshold may call unknown. The share is estimated from photos
#: no head or whitening had seen, so it carries over to new photos (bench/accuracy.py measures it on
#: test photos; bench/README.md).
DEFAULT_MAX_MEMBER_REJECTION = 0.03
#: The cues of a face for a class, in the order of `StrangerScore.weights`.
CUES = ("probability", "closest photo", "class mean")
#: Folds the negatives are scored in, each by a head fitted without their people.
NEGATIVE_FOLDS = 5


@dataclass(frozen=True)
class Negatives:
    """Faces of people known not to be members: (m, dim) unit embeddings, and (m,) the person each is of, so that
    each is scored by a head that saw no photo of that person, as a new stranger would be."""

    X: np.ndarray
    people: np.ndarray

    def folds(self, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(held, fitted) row masks: the people dealt into at most NEGATIVE_FOLDS folds (seeded); with one person,
        their photos are."""
        names, person = np.unique(self.people, return_inverse=True)
        if len(names) > 1:
            fold = round_robin_folds(np.zeros(len(names), np.int64), min(NEGATIVE_FOLDS, len(names)), seed)[person]
        else:
            fold = round_robin_folds(np.zeros(len(person), np.int64), NEGATIVE_FOLDS, seed)
        for k in np.unique(fold):
            yield fold == k, fold != k

    def __len__(self) -> int:
        return len(self.X)


def member_probabilities(make_head: Callable[[], Head], X: np.ndarray, y: np.ndarray, n_classes: int,
                         negatives: Optional[np.ndarray] = None) -> Callable[[np.ndarray], np.ndarray]:
    """The (n, n_classes) member probabilities of faces under a head from `make_head` fitted on (X, y), with
    `negatives` (rows in the same space) as one more class when there are any: the share those take is no
    member's, so the rows then sum to less than 1 for a face like theirs."""
    if negatives is None or not len(negatives):
        return make_head().fit(X, y, n_classes).predict_proba
    head = make_head().fit(np.vstack([X, negatives]), np.concatenate([y, np.full(len(negatives), n_classes)]),
                           n_classes + 1)
    return lambda rows: head.predict_proba(rows)[:, :n_classes]


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


def mean_similarity(X: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray, n_classes: int,
                    *, leave_one_out: bool = False) -> np.ndarray:
    """(n, n_classes): each row's cosine similarity to the mean of each class's reference rows (-1
    for a class without any).

    leave_one_out: X is the reference itself, and each row's own class mean leaves the row out.
    """
    counts = np.bincount(reference_labels, minlength=n_classes)
    sums = np.stack([reference[reference_labels == c].sum(axis=0) for c in range(n_classes)])
    out = (X @ normalise(sums).T).astype(np.float32)
    out[:, counts == 0] = -1.0
    if leave_one_out:
        rows = np.arange(len(X))
        own = normalise(sums[reference_labels] - X)
        out[rows, reference_labels] = np.where(counts[reference_labels] > 1, np.sum(X * own, axis=1), -1.0)
    return out


def stranger_cues(probabilities: np.ndarray, X: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray,
                  *, leave_one_out: bool = False) -> np.ndarray:
    """(n, n_classes, len(CUES)): the cues of every row of X for every class, given the head's probabilities."""
    n_classes = probabilities.shape[1]
    return np.stack([probabilities,
                     class_similarity(X, reference, reference_labels, n_classes, leave_one_out=leave_one_out),
                     mean_similarity(X, reference, reference_labels, n_classes, leave_one_out=leave_one_out)],
                    axis=-1).astype(np.float32)


@dataclass(frozen=True)
class StrangerScore:
    """How the cues of a face for a class make one score, higher for a member: a logistic regression on
    standardised cues, `(cues - mean) / scale @ weights + bias` (the log-odds that the face is a member).

    The weights are kept at zero or above: every cue is higher for members by construction, and the
    held-out simulation has quirks (with one class held out of two, the head is sure of every stranger)
    that must not turn a cue around.
    """

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def __call__(self, cues: np.ndarray) -> np.ndarray:
        """Scores of cues shaped (..., len(CUES))."""
        return ((cues - self.mean) / self.scale) @ self.weights + self.bias

    @classmethod
    def fit(cls, member_cues: np.ndarray, stranger_cues: np.ndarray, C: float = 1.0) -> StrangerScore:
        """Members against strangers, each side weighted to half the total (class-balanced), with an L2
        penalty of 1/(2C) on the weights as in scikit-learn's LogisticRegression. Without strangers or
        members to learn from, the sum of probability and closest-photo similarity (`SUM`)."""
        if not len(member_cues) or not len(stranger_cues):
            return SUM
        from scipy.optimize import minimize  # here, not at the top: `--help` reads this module's defaults
        from scipy.special import expit, log_expit

        cues = np.vstack([member_cues, stranger_cues]).astype(np.float64)
        sign = np.concatenate([np.ones(len(member_cues)), -np.ones(len(stranger_cues))])
        sample_weight = np.where(sign > 0, len(cues) / (2 * len(member_cues)), len(cues) / (2 * len(stranger_cues)))
        mean, scale = cues.mean(axis=0), np.maximum(cues.std(axis=0), 1e-6)
        Z = (cues - mean) / scale

        def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
            margin = sign * (Z @ theta[:-1] + theta[-1])
            residual = -C * sample_weight * sign * expit(-margin)
            value = 0.5 * theta[:-1] @ theta[:-1] - C * np.sum(sample_weight * log_expit(margin))
            return value, np.append(Z.T @ residual + theta[:-1], residual.sum())

        bounds = [(0.0, None)] * Z.shape[1] + [(None, None)]
        theta = minimize(loss, np.append(np.ones(Z.shape[1]), 0.0), jac=True, method="L-BFGS-B", bounds=bounds).x
        return cls(theta[:-1], float(theta[-1]), mean, scale)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The score as named arrays (`from_arrays` reads them back)."""
        return {"cue_weights": np.asarray(self.weights, np.float64), "cue_bias": np.array([self.bias]),
                "cue_mean": np.asarray(self.mean, np.float64), "cue_scale": np.asarray(self.scale, np.float64)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> StrangerScore:
        """The score `to_arrays` wrote."""
        return cls(arrays["cue_weights"], float(arrays["cue_bias"][0]), arrays["cue_mean"], arrays["cue_scale"])


#: The score when there is nothing to learn it from, and of format-1 model files made before it was
#: learned: probability plus closest-photo similarity (-1 to 2).
SUM = StrangerScore(np.array([1.0, 1.0, 0.0]), 0.0, np.zeros(len(CUES)), np.ones(len(CUES)))


@dataclass(frozen=True)
class ThresholdCurve:
    """How the error rates move with the threshold (for choosing it and for the report).

    strangers_accepted: the share of the simulated strangers (members held out) named; negatives_accepted:
    the share of the negatives (photos of people known not to be members, given at training) named, or
    None when there were none.
    """

    thresholds: np.ndarray
    strangers_accepted: np.ndarray
    members_rejected: np.ndarray
    n_members: int
    n_strangers: int
    negatives_accepted: Optional[np.ndarray] = None
    n_negatives: int = 0

    def index_for(self, max_member_rejection: float) -> int:
        """The point of the curve that accepts the fewest strangers while rejecting at most
        `max_member_rejection` of the members (the lowest threshold such, so that as few members as
        possible are lost). Strangers are the simulated ones and the negatives together, each face
        counting once."""
        allowed = self.members_rejected <= max_member_rejection
        accepted = self._all_strangers_accepted()
        fewest = accepted[allowed].min()
        return int(np.flatnonzero(allowed & (accepted == fewest))[0])

    def _all_strangers_accepted(self) -> np.ndarray:
        """Share of every stranger face (simulated and negative) named at each threshold."""
        if self.negatives_accepted is None or not self.n_negatives:
            return self.strangers_accepted
        named = self.strangers_accepted * self.n_strangers + self.negatives_accepted * self.n_negatives
        return named / (self.n_strangers + self.n_negatives)

    def index_at(self, threshold: float) -> int:
        """The point of the curve nearest `threshold`."""
        return int(np.argmin(np.abs(self.thresholds - threshold)))

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The curve as named arrays (`from_arrays` reads them back, with the counts)."""
        arrays = {"thresholds": self.thresholds, "strangers_accepted": self.strangers_accepted,
                  "members_rejected": self.members_rejected}
        if self.negatives_accepted is not None:
            arrays["negatives_accepted"] = self.negatives_accepted
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], n_members: int, n_strangers: int, n_negatives: int = 0
                    ) -> ThresholdCurve:
        """The curve `to_arrays` wrote (files without negatives have no `negatives_accepted`)."""
        return cls(arrays["thresholds"], arrays["strangers_accepted"], arrays["members_rejected"], n_members,
                   n_strangers, arrays.get("negatives_accepted"), n_negatives)


def threshold_curve(member_scores: np.ndarray, stranger_scores: np.ndarray,
                    negative_scores: Optional[np.ndarray] = None) -> ThresholdCurve:
    """Stranger acceptance and member rejection rates at every threshold that changes any of them: halfway
    between consecutive scores, one below all of them (everyone named) and one above (no one).
    negative_scores: the negatives' scores, whose acceptance the curve keeps apart."""
    every = [member_scores, stranger_scores] + ([negative_scores] if negative_scores is not None else [])
    scores = np.unique(np.concatenate(every).astype(np.float64))
    if not len(scores):
        scores = np.zeros(1)
    thresholds = np.concatenate([[scores[0] - 1.0], (scores[:-1] + scores[1:]) / 2, [scores[-1] + 1.0]])
    accepted = _named(stranger_scores, thresholds)
    rejected = (member_scores[None, :] < thresholds[:, None]).mean(axis=1) if len(member_scores) else \
        np.zeros(len(thresholds))
    if negative_scores is None:
        return ThresholdCurve(thresholds, accepted, rejected, len(member_scores), len(stranger_scores))
    return ThresholdCurve(thresholds, accepted, rejected, len(member_scores), len(stranger_scores),
                          _named(negative_scores, thresholds), len(negative_scores))


def _named(scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Share of `scores` at or above each threshold (zeros without scores)."""
    return (scores[None, :] >= thresholds[:, None]).mean(axis=1) if len(scores) else np.zeros(len(thresholds))


@dataclass(frozen=True)
class Calibration:
    """The stranger score and threshold training chose, with the curve they were chosen from.

    index: the point of `curve` chosen (its threshold is the model's); max_member_rejection: the share
    of members it was allowed to call unknown (None when not recorded, in format-1 model files).
    """

    score: StrangerScore
    curve: ThresholdCurve
    index: int
    max_member_rejection: Optional[float]

    @property
    def threshold(self) -> float:
        return float(self.curve.thresholds[self.index])

    @property
    def members_rejected(self) -> float:
        """Share of the calibration's members the threshold calls unknown."""
        return float(self.curve.members_rejected[self.index])

    @property
    def strangers_accepted(self) -> float:
        """Share of the calibration's simulated strangers the threshold names."""
        return float(self.curve.strangers_accepted[self.index])

    @property
    def negatives_accepted(self) -> Optional[float]:
        """Share of the negatives (non-members given at training) the threshold names; None without them."""
        negatives = self.curve.negatives_accepted
        return float(negatives[self.index]) if negatives is not None else None

    @classmethod
    def fit(cls, member_cues: np.ndarray, stranger_cues: np.ndarray,
            max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION,
            negative_cues: Optional[np.ndarray] = None) -> Calibration:
        """Learn the score from members' and strangers' cues, then take the threshold that accepts the
        fewest strangers while rejecting at most `max_member_rejection` of the members.

        Members come first: at the default, a member is rarely called unknown, and the share of
        strangers named at that point is what the benchmark reports. Raising the threshold
        at prediction time (`--threshold`) trades members for strangers.

        negative_cues: the cues of real strangers (photos of people known not to be members), which
        join the simulated ones, face for face, both in learning the score and in choosing the
        threshold; the curve keeps their acceptance apart. None: the simulated strangers alone.
        """
        if negative_cues is None:
            score = StrangerScore.fit(member_cues, stranger_cues)
            curve = threshold_curve(score(member_cues), score(stranger_cues))
        else:
            score = StrangerScore.fit(member_cues, np.concatenate([stranger_cues, negative_cues]))
            curve = threshold_curve(score(member_cues), score(stranger_cues), score(negative_cues))
        return cls(score, curve, curve.index_for(max_member_rejection), max_member_rejection)

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        """JSON settings and named arrays for the model file (`from_bundle` reads them back)."""
        meta = {"index": self.index, "max_member_rejection": self.max_member_rejection,
                "members": self.curve.n_members, "simulated_strangers": self.curve.n_strangers}
        if self.curve.negatives_accepted is not None:
            meta["negatives"] = self.curve.n_negatives
        arrays = {**nest("score", self.score.to_arrays()), **nest("curve", self.curve.to_arrays())}
        return meta, arrays

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> Calibration:
        """The calibration `to_bundle` wrote."""
        score = StrangerScore.from_arrays(part("score", arrays))
        curve = ThresholdCurve.from_arrays(part("curve", arrays), int(meta["members"]),
                                           int(meta["simulated_strangers"]), int(meta.get("negatives", 0)))
        return cls(score, curve, int(meta["index"]), meta.get("max_member_rejection"))


def simulate_strangers(make_head: Callable[[], Head], X_train: np.ndarray, y_train: np.ndarray,
                       X_val: np.ndarray, y_val: np.ndarray, n_classes: int, *, whiten: bool = False, seed: int = 0,
                       negatives: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Member and stranger cues (`stranger_cues` for the most probable class) of the validation faces,
    holding each class out in turn.

    Members: every validation face scored by a head from `make_head` fitted on all the training
    faces. Strangers: the validation faces of a held-out class, scored by a head fitted without it.
    With too few validation faces, the training faces stand in (each compared with the other
    training photos, leave one out). whiten: the head works on whitened embeddings
    (`whosthat.recognition.whitening`), fitted on the faces that head learns from. negatives: (m, dim)
    embeddings every head also learns, as one more class (`member_probabilities`).
    """
    leave_one_out = len(y_val) < 2 * n_classes
    if leave_one_out:
        X_val, y_val = X_train, y_train
    space = _space(X_train, y_train, whiten)
    fitted, scored = space(X_train), space(X_val)
    probabilities = member_probabilities(make_head, fitted, y_train, n_classes, _mapped(space, negatives))(scored)
    members = _cues_of_best(probabilities, scored, fitted, y_train, leave_one_out=leave_one_out)
    return members, _held_out_cues(make_head, X_train, y_train, X_val, y_val, whiten=whiten, seed=seed,
                                   negatives=negatives)


def cross_validated_cues(make_head: Callable[[], Head], X: np.ndarray, y: np.ndarray, n_classes: int,
                         folds: int = 5, *, whiten: bool = False, seed: int = 0,
                         negatives: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
    """Member and stranger cues (`stranger_cues` for the most probable class) of every photo, each
    from a head, a reference and (with `whiten`) a whitening that never saw it.

    Members: each photo scored by a head fitted on the other folds (`whosthat.recognition.heads.out_of_fold`, which
    needs no fallback when members have fewer photos than folds, as few-shot groups do).
    Strangers: every photo of a held-out class, scored by a head fitted on the other classes. Using
    all the photos, not only the validation ones, estimates the threshold from several times more
    scores. Only for embeddings that did not learn from these photos (not a fine-tuned network's).
    negatives: (m, dim) embeddings every head also learns, as one more class (`member_probabilities`).
    """
    members = np.zeros((len(y), len(CUES)), np.float32)
    for scored, fitted in out_of_fold(y, folds, seed):
        space = _space(X[fitted], y[fitted], whiten)
        reference, faces = space(X[fitted]), space(X[scored])
        probabilities = member_probabilities(make_head, reference, y[fitted], n_classes,
                                             _mapped(space, negatives))(faces)
        members[scored] = _cues_of_best(probabilities, faces, reference, y[fitted])
    return members, _held_out_cues(make_head, X, y, X, y, whiten=whiten, seed=seed, negatives=negatives)


def negative_cues(make_head: Callable[[], Head], X: np.ndarray, y: np.ndarray, n_classes: int, negatives: Negatives,
                  *, whiten: bool = False, seed: int = 0) -> np.ndarray:
    """(m, len(CUES)) the cues of each negative for its most probable member, scored as a new stranger is: by a
    head fitted on all the members (X, y) and on the negatives of the other people (`Negatives.folds`)."""
    space = _space(X, y, whiten)
    reference, faces = space(X), space(negatives.X)
    cues = np.zeros((len(negatives), len(CUES)), np.float32)
    for held, fitted in negatives.folds(seed):
        probabilities = member_probabilities(make_head, reference, y, n_classes, faces[fitted])(faces[held])
        cues[held] = _cues_of_best(probabilities, faces[held], reference, y)
    return cues


def _held_out_cues(make_head: Callable[[], Head], X_fit: np.ndarray, y_fit: np.ndarray, X_scored: np.ndarray,
                   y_scored: np.ndarray, *, whiten: bool, seed: int, negatives: Optional[np.ndarray] = None
                   ) -> np.ndarray:
    """Stranger cues: for each class in turn (a seeded sample of MAX_HELD_OUT in larger groups), its
    `X_scored` rows scored by a head fitted on the `X_fit` rows of the other classes (and the negatives)."""
    held_out = np.unique(y_scored)
    if len(held_out) > MAX_HELD_OUT:
        held_out = np.random.default_rng(seed).choice(held_out, MAX_HELD_OUT, replace=False)
    strangers = [np.zeros((0, len(CUES)), np.float32)]
    for c in held_out:
        keep = y_fit != c
        others = np.unique(y_fit[keep])
        local = np.searchsorted(others, y_fit[keep])
        space = _space(X_fit[keep], local, whiten)
        reference, faces = space(X_fit[keep]), space(X_scored[y_scored == c])
        mapped = _mapped(space, negatives)
        if len(others) >= 2 or (mapped is not None and len(mapped)):
            probabilities = member_probabilities(make_head, reference, local, len(others), mapped)(faces)
        else:
            probabilities = np.ones((len(faces), 1))
        strangers.append(_cues_of_best(probabilities, faces, reference, local))
    return np.concatenate(strangers)


def _space(X: np.ndarray, y: np.ndarray, whiten: bool) -> Callable[[np.ndarray], np.ndarray]:
    """The map into the space a head fitted on (X, y) works in: a whitening fitted on them, or none."""
    if not whiten:
        return lambda rows: rows
    matrix = whitening.fit_whitening(X, y)
    return lambda rows: whitening.whiten(rows, matrix)


def _mapped(space: Callable[[np.ndarray], np.ndarray], rows: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """`rows` in a head's space, or None without any."""
    return space(rows) if rows is not None and len(rows) else None


def _cues_of_best(probabilities: np.ndarray, X: np.ndarray, reference: np.ndarray, reference_labels: np.ndarray,
                  *, leave_one_out: bool = False) -> np.ndarray:
    """(n, len(CUES)): each face's cues for the class the head finds most probable."""
    best = probabilities.argmax(axis=1)
    cues = stranger_cues(probabilities, X, reference, reference_labels, leave_one_out=leave_one_out)
    return cues[np.arange(len(best)), best]
