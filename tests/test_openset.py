"""Strangers: the stranger score, the calibrated threshold, and unknown faces on real held-out members."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import KPOP15, KPOP_STRANGERS, images_of, link_tree
from whosthat.evaluate import evaluate_folder
from whosthat.heads import create_head
from whosthat.openset import calibrate, class_similarity, simulate_strangers, stranger_scores, threshold_curve


def _unit(rows) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_class_similarity_is_the_closest_photo_of_each_class():
    reference = _unit([[1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0, 0, 1]])
    labels = np.array([0, 0, 1, 2])
    X = _unit([[1, 0, 0], [0, 0.6, 0.8]])
    s = class_similarity(X, reference, labels, 4)
    np.testing.assert_allclose(s[0, :3], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(s[1, :3], [0.36, 0.6, 0.8], atol=1e-6)
    assert s[0, 3] == -1.0, "a class with no reference photo must score the minimum"


def test_class_similarity_leave_one_out():
    reference = _unit([[1, 0], [1, 0.1], [0, 1]])
    labels = np.array([0, 0, 1])
    s = class_similarity(reference, reference, labels, 2, leave_one_out=True)
    assert s[0, 0] < 1.0 - 1e-6 and s[1, 0] < 1.0 - 1e-6, "a photo was compared with itself"
    assert s[2, 1] == -1.0, "the only photo of a class has no other photo to be close to"


def test_stranger_scores_range():
    p = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = np.array([[1.0, -1.0], [0.5, 0.5]])
    np.testing.assert_allclose(stranger_scores(p, s), [[2.0, -1.0], [0.5, 1.5]])


def test_calibrate_minimises_both_errors():
    rng = np.random.default_rng(0)
    members = rng.normal(1.5, 0.1, 500)
    strangers = rng.normal(0.8, 0.2, 500)
    threshold, curve = calibrate(members, strangers)
    total = (members < threshold).mean() + (strangers >= threshold).mean()
    assert total <= (curve.strangers_accepted + curve.members_rejected).min() + 1e-9
    assert (members < threshold).mean() <= 0.03
    assert (strangers >= threshold).mean() < 0.1
    assert curve.n_members == 500 and curve.n_strangers == 500
    assert np.all(np.diff(curve.strangers_accepted) <= 0) and np.all(np.diff(curve.members_rejected) >= 0)


def test_threshold_curve_ends():
    curve = threshold_curve(np.array([0.5, 1.0]), np.array([0.2]))
    assert curve.strangers_accepted[0] == 1.0 and curve.members_rejected[0] == 0.0
    assert curve.strangers_accepted[-1] == 0.0


def test_simulated_strangers_score_lower_than_members(kpop_embeddings):
    """On real embeddings, members held out of the head score clearly lower than members in it."""
    classes = ["Irene", "Jihyo", "Naeun", "Seulgi", "Umji", "Nayeon"]
    X_train = np.vstack([kpop_embeddings[c][:10] for c in classes])
    y_train = np.repeat(np.arange(len(classes)), 10)
    X_val = np.vstack([kpop_embeddings[c][10:14] for c in classes])
    y_val = np.repeat(np.arange(len(classes)), 4)
    members, strangers = simulate_strangers(lambda: create_head("logistic"), X_train, y_train, X_val, y_val,
                                            len(classes))
    assert len(members) == len(y_val) and len(strangers) == len(y_val)
    print(f"median stranger score: members {np.median(members):.2f}, simulated strangers {np.median(strangers):.2f}")
    assert np.median(members) > np.median(strangers) + 0.3


def test_held_out_members_come_out_unknown(kpop_model, tmp_path: Path, session_cache: Path):
    """kpop15 members the model never learned must mostly be called unknown."""
    from whosthat.cache import EmbeddingCache

    strangers = link_tree(tmp_path / "strangers", {c: images_of(KPOP15 / c)[:16] for c in KPOP_STRANGERS})
    evaluation = evaluate_folder(kpop_model, strangers, cache=EmbeddingCache(session_cache))
    n = int((evaluation.truth == -1).sum())
    assert n == len(evaluation.paths) and n >= 50
    faces = evaluation.predicted != -2
    accepted = float((evaluation.predicted[faces] >= 0).mean())
    print(f"\nSTRANGER RATE: {accepted:.1%} of {int(faces.sum())} faces of {len(KPOP_STRANGERS)} held-out kpop15 "
          f"members named as a member (threshold {kpop_model.threshold:.3f}); "
          f"strangers_accepted={evaluation.strangers_accepted:.1%}")
    assert accepted <= 0.30, f"{accepted:.0%} of strangers were given a member's name"


@pytest.mark.parametrize("threshold", [2.5, -2.0])
def test_threshold_override(kpop_model, kpop_held_out, threshold: float):
    """Above every score all faces are unknown; below every score none is."""
    photo = kpop_held_out["Jihyo"][0]
    result = kpop_model.predict(photo, threshold=threshold)
    assert len(result) >= 1
    if threshold > 2:
        assert result.labels == ["unknown"] * len(result)
    else:
        assert "unknown" not in result.labels
