"""Classifier heads on embeddings: fitted with scikit-learn, applied with NumPy from plain arrays (scikit-learn and
SciPy are imported where they are used, so that listing the heads for `--help` loads neither).

Every head keeps its fitted state as named arrays plus JSON parameters, so a model file holds no
pickle and opening one runs no code. All heads are class-balanced: a member with twice the
photos does not swallow the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Protocol

import numpy as np

from whosthat.core.registry import Registry


class Head(Protocol):
    """A classifier over unit embeddings with integer labels 0..n_classes-1."""

    name: str

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> Head: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """(n, n_classes) probabilities, rows summing to 1."""
        ...

    def get_params(self) -> dict:
        """Constructor keywords, JSON-serialisable."""
        ...

    def get_state(self) -> dict[str, np.ndarray]:
        """Fitted state as named arrays."""
        ...

    def set_state(self, state: dict[str, np.ndarray]) -> Head: ...


HEADS: Registry[Head] = Registry("head")


def create_head(name: str, **params: object) -> Head:
    """Build a registered head by name (see `HEADS.names()`)."""
    return HEADS.create(name, **params)


def round_robin_folds(y: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Each row's fold, 0..folds-1: every class's rows shuffled (seeded) and dealt out in turn.

    Unlike scikit-learn's StratifiedKFold this needs no warning or fallback when a class has
    fewer rows than folds, as few-shot groups do: that class is simply missing from some folds.
    """
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(y), np.int64)
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        fold[rows[rng.permutation(len(rows))]] = np.arange(len(rows)) % folds
    return fold


def out_of_fold(y: np.ndarray, folds: int, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(held, fitted) boolean row masks of each fold of `round_robin_folds`: every cross-validation of
    whosthat (the heads', the stranger calibration's, the audit's) goes through these."""
    fold = round_robin_folds(y, folds, seed)
    for k in np.unique(fold):
        yield fold == k, fold != k


def cross_val_proba(head: str, X: np.ndarray, y: np.ndarray, n_classes: int, folds: int = 5, seed: int = 0
                    ) -> np.ndarray:
    """(n, n_classes) probabilities of every row from a `head` (by name) fitted on the other folds
    (`out_of_fold`). A class whose only row is held out is unknown to that fold's head, so
    the row comes out wrong, as a new photo of it would.
    """
    probabilities = np.zeros((len(y), n_classes))
    for held, fitted in out_of_fold(y, folds, seed):
        probabilities[held] = create_head(head).fit(X[fitted], y[fitted], n_classes).predict_proba(X[held])
    return probabilities


@HEADS.register("logistic")
class LogisticHead:
    """Multinomial logistic regression (scikit-learn, lbfgs) with balanced class weights."""

    name = "logistic"

    def __init__(self, C: float = 10.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> LogisticHead:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, class_weight="balanced", max_iter=5000).fit(X, y)
        self.coef_, self.intercept_ = _full_linear(model.coef_, model.intercept_, model.classes_, n_classes)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        return softmax(X @ self.coef_.T + self.intercept_, axis=1)

    def get_params(self) -> dict:
        return {"C": self.C}

    def get_state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef_, "intercept": self.intercept_}

    def set_state(self, state: dict[str, np.ndarray]) -> LogisticHead:
        self.coef_, self.intercept_ = state["coef"], state["intercept"]
        return self


@HEADS.register("svm")
class SVMHead:
    """Linear SVM (one-vs-rest) whose margins become probabilities by a softmax with a scale and
    per-class offsets fitted on cross-validated margins, class-balanced (the role of
    `SVC(probability=True)`). On few, separable photos class weights cannot move a max-margin
    boundary, so the balance comes from the offsets."""

    name = "svm"

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> SVMHead:
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        from sklearn.svm import LinearSVC

        model = LinearSVC(C=self.C, class_weight="balanced", max_iter=20000)
        counts = np.bincount(y)
        folds = int(min(5, counts[counts > 0].min()))
        model.fit(X, y)
        self.coef_, self.intercept_ = _full_linear(model.coef_, model.intercept_, model.classes_, n_classes)
        self.scale_, self.offset_ = np.float64(5.0), np.zeros(n_classes)
        if folds >= 2:
            margins = cross_val_predict(model, X, y, cv=StratifiedKFold(folds, shuffle=True, random_state=0),
                                        method="decision_function")
            if margins.ndim == 1:
                margins = np.column_stack([-margins / 2, margins / 2])
            full = np.full((len(y), n_classes), -1e4)
            full[:, model.classes_] = margins
            self.scale_, self.offset_ = _fit_softmax_calibration(full, y, n_classes)
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        return softmax((X @ self.coef_.T + self.intercept_) * self.scale_ + self.offset_, axis=1)

    def get_params(self) -> dict:
        return {"C": self.C}

    def get_state(self) -> dict[str, np.ndarray]:
        return {"coef": self.coef_, "intercept": self.intercept_, "scale": np.asarray(self.scale_),
                "offset": self.offset_}

    def set_state(self, state: dict[str, np.ndarray]) -> SVMHead:
        self.coef_, self.intercept_ = state["coef"], state["intercept"]
        self.scale_, self.offset_ = float(state["scale"]), state["offset"]
        return self


@HEADS.register("knn")
class KNNHead:
    """k nearest neighbours by cosine similarity; each class's vote is weighted by similarity and
    divided by the class's size, so large classes do not win by numbers."""

    name = "knn"

    def __init__(self, k: int = 5, sharpness: float = 10.0) -> None:
        self.k = k
        self.sharpness = sharpness

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> KNNHead:
        self.X_, self.y_ = np.asarray(X, np.float32), np.asarray(y, np.int64)
        counts = np.bincount(self.y_, minlength=n_classes)
        self.class_weight_ = len(self.y_) / (n_classes * np.maximum(counts, 1.0))
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        similarity = X @ self.X_.T
        k = min(self.k, similarity.shape[1])
        nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
        votes = np.zeros((len(X), len(self.class_weight_)))
        weights = np.exp(self.sharpness * np.take_along_axis(similarity, nearest, axis=1))
        np.add.at(votes, (np.arange(len(X))[:, None], self.y_[nearest]), weights)
        votes = votes * self.class_weight_ + 1e-9
        return votes / votes.sum(axis=1, keepdims=True)

    def get_params(self) -> dict:
        return {"k": self.k, "sharpness": self.sharpness}

    def get_state(self) -> dict[str, np.ndarray]:
        return {"X": self.X_, "y": self.y_, "class_weight": self.class_weight_}

    def set_state(self, state: dict[str, np.ndarray]) -> KNNHead:
        self.X_, self.y_, self.class_weight_ = state["X"], state["y"], state["class_weight"]
        return self


@HEADS.register("mlp")
class MLPHead:
    """A small dense network (the tutorials' head): one hidden ReLU layer, trained on a
    class-balanced resample of the data (scikit-learn's MLP has no class weights). The L2
    penalty (alpha 0.1) keeps the duplicated photos of small classes from being learned by
    heart, which would undo the balance; from 0.3 up the network collapses on 14 kpop15 classes."""

    name = "mlp"

    def __init__(self, hidden: int = 128, alpha: float = 0.1, seed: int = 0) -> None:
        self.hidden = hidden
        self.alpha = alpha
        self.seed = seed

    def fit(self, X: np.ndarray, y: np.ndarray, n_classes: int) -> MLPHead:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        rng = np.random.default_rng(self.seed)
        largest = np.bincount(y).max()
        index = np.concatenate([rng.choice(np.flatnonzero(y == c), largest, replace=True)
                                for c in np.unique(y)])
        model = MLPClassifier(hidden_layer_sizes=(self.hidden,), alpha=self.alpha, max_iter=300,
                              random_state=self.seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[index], y[index])
        out_w, out_b = _full_linear(model.coefs_[1].T, model.intercepts_[1], model.classes_, n_classes)
        self.weights_ = [model.coefs_[0], out_w.T]
        self.biases_ = [model.intercepts_[0], out_b]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        from scipy.special import softmax

        hidden = np.maximum(X @ self.weights_[0] + self.biases_[0], 0)
        return softmax(hidden @ self.weights_[1] + self.biases_[1], axis=1)

    def get_params(self) -> dict:
        return {"hidden": self.hidden, "alpha": self.alpha, "seed": self.seed}

    def get_state(self) -> dict[str, np.ndarray]:
        return {"w0": self.weights_[0], "b0": self.biases_[0], "w1": self.weights_[1], "b1": self.biases_[1]}

    def set_state(self, state: dict[str, np.ndarray]) -> MLPHead:
        self.weights_ = [state["w0"], state["w1"]]
        self.biases_ = [state["b0"], state["b1"]]
        return self


def _full_linear(coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray, n_classes: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Linear weights with one row per class 0..n_classes-1 (binary models become two rows)."""
    if coef.shape[0] == 1 and len(classes) == 2:
        coef = np.vstack([-coef / 2, coef / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    full_coef = np.zeros((n_classes, coef.shape[1]))
    full_intercept = np.full(n_classes, -1e4)
    full_coef[classes] = coef
    full_intercept[classes] = intercept
    return full_coef, full_intercept


def _fit_softmax_calibration(margins: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[np.float64, np.ndarray]:
    """Scale and per-class offsets minimising the class-balanced log-loss of held-out margins."""
    from scipy.optimize import minimize
    from scipy.special import log_softmax

    counts = np.bincount(y, minlength=n_classes)
    weights = (len(y) / (n_classes * np.maximum(counts, 1)))[y]
    rows = np.arange(len(y))

    def loss(params: np.ndarray) -> float:
        logits = margins * params[0] + params[1:]
        return float((weights * -log_softmax(logits, axis=1)[rows, y]).mean() + 1e-3 * (params[1:] ** 2).sum())

    start = np.concatenate([[5.0], np.zeros(n_classes)])
    bounds = [(0.1, 100.0)] + [(-10.0, 10.0)] * n_classes
    result = minimize(loss, start, method="L-BFGS-B", bounds=bounds)
    return np.float64(result.x[0]), result.x[1:]
