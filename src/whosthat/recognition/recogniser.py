"""`Recogniser`: names face embeddings as members of the group or "unknown", as a scikit-learn estimator.

It is the learned half of a model (the other half, `whosthat.models.model.Model`, finds and embeds the
faces): a within-class whitening of the embeddings, a classifier head (which, given faces of people
known not to be members, learns them as one more class), the training faces the stranger test
compares with, and the calibrated stranger score and threshold (`whosthat.recognition.openset`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from whosthat.core.arrays import nest, part
from whosthat.core.errors import WhosthatError
from whosthat.recognition.heads import Head, create_head
from whosthat.recognition.openset import (
    DEFAULT_MAX_MEMBER_REJECTION,
    SUM,
    Calibration,
    Negatives,
    cross_validated_cues,
    negative_cues,
    simulate_strangers,
    stranger_cues,
)
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.whitening import fit_whitening, whiten


@dataclass(frozen=True)
class Evidence:
    """What a recogniser makes of n faces, for each of its k classes.

    probabilities: (n, k) the head's probabilities of the members, rows summing to 1.
    similarity: (n, k) cosine similarity to each class's closest training face.
    stranger: (n, k) stranger scores (a log-odds that the face is this member; compared with the threshold).
    """

    probabilities: np.ndarray
    similarity: np.ndarray
    stranger: np.ndarray


@dataclass(frozen=True)
class Reference:
    """The training faces the stranger test compares new faces with: (n, dim) features, in the space the
    head works in, and their class indices."""

    X: np.ndarray
    y: np.ndarray


class TooFewClassesError(WhosthatError, ValueError):
    """Fewer than two classes to learn from (a ValueError too, as scikit-learn's estimators raise)."""


class Recogniser(ClassifierMixin, BaseEstimator):
    """Whitening, head and stranger threshold over face embeddings: a scikit-learn classifier
    (`sklearn.base.clone`, `get_params` / `set_params` and `check_estimator` apply; see tests/test_recogniser.py
    for the checks it is exempt from and why).

    Settings are stored as given: `head` (a name of `whosthat.recognition.heads.HEADS`) and its `head_params`;
    `whiten`, learn a within-class whitening first; `calibrate`, learn the stranger score and threshold
    (without it every face gets its most probable name: a closed set); `max_member_rejection`, the share
    of members the threshold may call unknown; `seed`, of the calibration's folds and held-out classes.

    `fit(X, y)` sets `classes_`, `n_features_in_`, `whitening_`, `head_`, `reference_`, `negatives_` (the
    faces of non-members the head learned as one more class, kept so that the model can be fitted again) and
    `calibration_`.
    """

    def __init__(self, head: str = "logistic", head_params: Optional[Mapping] = None, whiten: bool = True,
                 calibrate: bool = True, max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION,
                 seed: int = 0) -> None:
        self.head = head
        self.head_params = head_params
        self.whiten = whiten
        self.calibrate = calibrate
        self.max_member_rejection = max_member_rejection
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, *, seen: Optional[np.ndarray] = None,
            negatives: Optional[np.ndarray] = None, negative_people: Optional[np.ndarray] = None) -> Recogniser:
        """Learn from (n, dim) unit embeddings and their (n,) class names.

        seen: (n,) bool, rows whose photos the embedder itself learned from (a network fine-tuned on
        them): those are never scored to calibrate the stranger threshold. By default none, and every
        row is scored by a head fitted on the other folds of a cross-validation.
        negatives: (m, dim) unit embeddings of people known not to be members. The head learns them as one
        more class, whose share of a face's probability no member gets; and, each scored by a head that saw
        no photo of its person, they calibrate the stranger score and threshold beside the simulated
        strangers (`whosthat.recognition.openset`). None, or none: nothing changes.
        negative_people: (m,) the person each negative is of (by default each is its own).
        """
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        names, index = np.unique(y, return_inverse=True)
        if len(names) < 2:
            raise TooFewClassesError(f"{len(names)} class to learn from; a recogniser needs at least two")
        self.classes_ = names.tolist()
        others = self._negatives(negatives, negative_people)
        self.negatives_ = others
        self.whitening_ = fit_whitening(X, index) if self.whiten else None
        features = self._features(X)
        if others is None:
            self.head_ = self._new_head().fit(features, index, len(names))
        else:
            self.head_ = self._new_head().fit(np.vstack([features, self._features(others.X)]),
                                              np.concatenate([index, np.full(len(others.X), len(names))]),
                                              len(names) + 1)
        self.reference_ = Reference(features, index.astype(np.int64))
        self.calibration_ = self._calibrate(X, index, seen, others) if self.calibrate else None
        return self

    def evidence(self, X: np.ndarray) -> Evidence:
        """Probabilities, closest-photo similarities and stranger scores of (n, dim) embeddings for every class."""
        check_is_fitted(self, "head_")
        X = validate_data(self, X, dtype=np.float32, reset=False, ensure_min_samples=0)
        features = self._features(X)
        k = len(self.classes_)
        members = self.head_.predict_proba(features)[:, :k] if len(features) else np.zeros((0, k))
        cues = stranger_cues(members, features, self.reference_.X, self.reference_.y)
        score = self.calibration_.score if self.calibration_ is not None else SUM
        probabilities = members / members.sum(axis=1, keepdims=True) if self.n_negatives_ else members
        return Evidence(probabilities, cues[..., 1], score(cues))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) the head's probabilities, in the order of `classes_`."""
        return self.evidence(X).probabilities

    @property
    def n_negatives_(self) -> int:
        """How many faces of non-members the head learned as one more class."""
        return len(self.negatives_) if self.negatives_ is not None else 0

    @property
    def threshold_(self) -> float:
        """The stranger threshold: a face is named when its score for its most probable class reaches it."""
        return self.calibration_.threshold if self.calibration_ is not None else -np.inf

    def predict(self, X: np.ndarray, *, threshold: Optional[float] = None) -> np.ndarray:
        """(n,) the most probable class name of each embedding, or "unknown" where its stranger score is
        below `threshold` (default: the calibrated one): an object array then, an array like `classes_` for
        a closed set (no threshold). Each face alone: a group photo's faces are shared out by
        `whosthat.recognition.assign` in `Model.name_subjects`."""
        evidence = self.evidence(X)
        best = evidence.probabilities.argmax(axis=1)
        names = np.asarray(self.classes_)[best]
        cut = self.threshold_ if threshold is None else threshold
        if cut == -np.inf:
            return names
        accepted = evidence.stranger[np.arange(len(best)), best] >= cut
        return np.where(accepted, names.astype(object), UNKNOWN_LABEL)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Share of embeddings whose `predict` equals `y` (a stranger's label is "unknown")."""
        return float(np.mean(self.predict(X) == np.asarray(y, dtype=object))) if len(y) else float("nan")

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Settings and fitted state as JSON and named arrays (`from_bundle` reads them back)."""
        meta: dict = {"params": self.get_params(), "classes": list(self.classes_), "negatives": self.n_negatives_}
        arrays = nest("head", self.head_.get_state())
        arrays.update({"reference/X": self.reference_.X, "reference/y": self.reference_.y})
        if self.whitening_ is not None:
            arrays["whitening"] = self.whitening_
        if self.negatives_ is not None:
            arrays["negatives/X"] = self.negatives_.X
            meta["negative_people"] = [str(person) for person in self.negatives_.people]
        if self.calibration_ is not None:
            meta["calibration"], calibration = self.calibration_.to_bundle()
            arrays.update(nest("calibration", calibration))
        return meta, arrays

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> Recogniser:
        """The fitted recogniser `to_bundle` wrote."""
        recogniser = cls(**meta["params"])
        recogniser.classes_ = list(meta["classes"])
        recogniser.negatives_ = (Negatives(np.asarray(arrays["negatives/X"], np.float32),
                                           np.asarray(meta["negative_people"], dtype=object))
                                 if meta.get("negatives") else None)
        recogniser.n_features_in_ = int(np.asarray(arrays["reference/X"]).shape[1])
        recogniser.head_ = recogniser._new_head().set_state(part("head", arrays))
        recogniser.whitening_ = arrays.get("whitening")
        recogniser.reference_ = Reference(np.asarray(arrays["reference/X"], np.float32),
                                          np.asarray(arrays["reference/y"], np.int64))
        recogniser.calibration_ = (Calibration.from_bundle(meta["calibration"], part("calibration", arrays))
                                   if "calibration" in meta else None)
        return recogniser

    def _new_head(self) -> Head:
        return create_head(self.head, **(self.head_params or {}))

    def _features(self, X: np.ndarray) -> np.ndarray:
        """Embeddings in the space the head and the reference live in (whitened, or as they are)."""
        return X if self.whitening_ is None or not len(X) else whiten(X, self.whitening_)

    def _negatives(self, negatives: Optional[np.ndarray], people: Optional[np.ndarray]) -> Optional[Negatives]:
        """The negatives checked, with their people; None without any."""
        if negatives is None:
            return None
        negatives = check_array(negatives, dtype=np.float32, ensure_min_samples=0)
        if negatives.shape[1] != self.n_features_in_:
            raise ValueError(f"negatives have {negatives.shape[1]} features; the members have {self.n_features_in_}")
        if not len(negatives):
            return None
        people = np.arange(len(negatives)) if people is None else np.asarray(people)
        if people.shape != (len(negatives),):
            raise ValueError(f"{len(people)} negative_people for {len(negatives)} negatives")
        return Negatives(negatives, people)

    def _calibrate(self, X: np.ndarray, y: np.ndarray, seen: Optional[np.ndarray], negatives: Optional[Negatives]
                   ) -> Calibration:
        """Stranger score and threshold from photos the scoring head never saw (`whosthat.recognition.openset`)."""
        k = len(self.classes_)
        learned = negatives.X if negatives is not None else None
        if seen is None or not np.any(seen):
            member, stranger = cross_validated_cues(self._new_head, X, y, k, whiten=self.whiten, seed=self.seed,
                                                    negatives=learned)
            fitted, labels = X, y
        else:
            seen = np.asarray(seen, bool)
            member, stranger = simulate_strangers(self._new_head, X[seen], y[seen], X[~seen], y[~seen], k,
                                                  whiten=self.whiten, seed=self.seed, negatives=learned)
            fitted, labels = X[seen], y[seen]
        others = (negative_cues(self._new_head, fitted, labels, k, negatives, whiten=self.whiten, seed=self.seed)
                  if negatives is not None else None)
        return Calibration.fit(member, stranger, self.max_member_rejection, others)
