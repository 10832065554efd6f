"""Within-class whitening: its algebra on made data, its effect on real faces, and its place in the model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import whosthat
from whosthat.cli import main
from whosthat.recognition.heads import create_head
from whosthat.recognition.whitening import fit_whitening, whiten


def _within_covariance(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    means = np.stack([X[y == c].mean(axis=0) for c in np.unique(y)])
    spread = X - means[np.searchsorted(np.unique(y), y)]
    return spread.T @ spread / len(X)


def test_without_shrinkage_the_within_class_spread_becomes_the_identity() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 6))
    stretch = np.diag([5.0, 2.0, 1.0, 0.5, 0.2, 0.1])  # people vary far more along some axes
    y = np.repeat(np.arange(4), 50)
    X = centres[y] + rng.normal(size=(200, 6)) @ stretch
    W = fit_whitening(X, y, shrinkage=0.0)
    np.testing.assert_allclose(_within_covariance(X @ W, y), np.eye(6), atol=1e-4)


def test_whitened_faces_are_named_at_least_as_well_on_new_photos(kpop_embeddings: dict[str, np.ndarray]) -> None:
    names = [n for n in sorted(kpop_embeddings) if len(kpop_embeddings[n]) >= 16]
    fit = [kpop_embeddings[n][:12] for n in names]
    new = [kpop_embeddings[n][12:] for n in names]
    X, y = np.vstack(fit), np.concatenate([np.full(len(a), k) for k, a in enumerate(fit)])
    X_new, y_new = np.vstack(new), np.concatenate([np.full(len(a), k) for k, a in enumerate(new)])
    W = fit_whitening(X, y)
    np.testing.assert_allclose(np.linalg.norm(whiten(X_new, W), axis=1), 1.0, atol=1e-5)
    plain = create_head("logistic").fit(X, y, len(names)).predict_proba(X_new).argmax(1)
    whitened = create_head("logistic").fit(whiten(X, W), y, len(names)).predict_proba(whiten(X_new, W)).argmax(1)
    assert np.mean(whitened == y_new) >= np.mean(plain == y_new) - 0.02, (np.mean(whitened == y_new),
                                                                         np.mean(plain == y_new))


def test_face_models_carry_their_whitening_and_no_whiten_leaves_it_out(kpop_model: whosthat.Model,
                                                                      kpop_train_dir: Path, tmp_path: Path) -> None:
    matrix = kpop_model.recogniser.whitening_
    assert matrix.shape == (128, 128)
    np.testing.assert_allclose(np.linalg.norm(kpop_model.reference.X, axis=1), 1.0, atol=1e-5)
    out = tmp_path / "plain.wt"
    assert main(["train", str(kpop_train_dir), "--embedder", "facenet", "--no-whiten", "--no-report",
                 "--out", str(out)]) == 0
    plain = whosthat.load(out)
    assert plain.recogniser.whitening_ is None and not plain.recogniser.whiten
    assert plain.test.metrics.accuracy >= 0.7
