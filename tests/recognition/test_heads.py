"""Heads: every registered classifier fits, predicts probabilities, is class-balanced and survives its state."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from whosthat.recognition.heads import HEADS, create_head, cross_val_proba, round_robin_folds

CLASSES = ["Irene", "Jihyo", "Naeun", "Seulgi", "Umji"]


def _xy(embeddings: dict[str, np.ndarray], classes: list[str], start: int, stop: int):
    X = np.vstack([embeddings[c][start:stop] for c in classes])
    y = np.concatenate([np.full(len(embeddings[c][start:stop]), k) for k, c in enumerate(classes)])
    return X.astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="module")
def data(kpop_embeddings):
    """12 training and up to 8 held-out photos of five kpop15 members."""
    return _xy(kpop_embeddings, CLASSES, 0, 12), _xy(kpop_embeddings, CLASSES, 12, 20)


@pytest.mark.parametrize("name", HEADS.names())
def test_head_conformance(data, name: str):
    (X, y), (X_new, y_new) = data
    head = create_head(name).fit(X, y, len(CLASSES))
    assert head.name == name
    p = head.predict_proba(X_new)
    assert p.shape == (len(X_new), len(CLASSES))
    assert np.all(p >= 0) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    accuracy = (p.argmax(axis=1) == y_new).mean()
    print(f"{name}: held-out accuracy {accuracy:.0%} on {len(y_new)} photos")
    assert accuracy >= 0.8, f"{name}: {accuracy:.0%} of new photos of five members named right"


@pytest.mark.parametrize("name", HEADS.names())
def test_head_state_round_trip(data, name: str):
    """A head rebuilt from its JSON params and arrays (through npz, no pickle) predicts identically."""
    (X, y), (X_new, _) = data
    head = create_head(name).fit(X, y, len(CLASSES))
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in head.get_state().items()})
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        state = {k: npz[k] for k in npz.files}
    params = json.loads(json.dumps(head.get_params()))
    again = create_head(name, **params).set_state(state)
    np.testing.assert_array_equal(again.predict_proba(X_new), head.predict_proba(X_new))


@pytest.mark.parametrize("name", HEADS.names())
def test_head_two_classes(data, name: str):
    (X, y), (X_new, y_new) = data
    keep, keep_new = y < 2, y_new < 2
    head = create_head(name).fit(X[keep], y[keep], 2)
    p = head.predict_proba(X_new[keep_new])
    assert p.shape == (keep_new.sum(), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
    assert (p.argmax(axis=1) == y_new[keep_new]).mean() >= 0.8


@pytest.mark.parametrize("name", HEADS.names())
def test_head_class_without_training_rows(data, name: str):
    """n_classes larger than the labels seen (a member whose photos had no face): that class gets ~0."""
    (X, y), (X_new, _) = data
    keep = y != 2
    labels = y[keep]
    head = create_head(name).fit(X[keep], labels, len(CLASSES))
    p = head.predict_proba(X_new)
    assert p.shape == (len(X_new), len(CLASSES))
    assert p[:, 2].max() < 0.01


@pytest.mark.parametrize("name", HEADS.names())
def test_head_class_balance(kpop_embeddings, name: str):
    """A class with 3x the photos must not swallow a small one.

    One person's photos are split at random into a big class (24) and a small class (8), so the
    two are indistinguishable; two other members complete the set. On that person's other photos,
    a balanced head gives the small class about half of the two classes' probability, an
    unbalanced one about a quarter (3:1). Averaged over two people and three shuffles.
    """
    shares = []
    for person in ["Naeun", "Jihyo"]:
        for seed in range(3):
            A = kpop_embeddings[person][np.random.default_rng(seed).permutation(len(kpop_embeddings[person]))]
            X = np.vstack([A[:24], A[24:32], kpop_embeddings["Irene"][:12], kpop_embeddings["Seulgi"][:12]])
            y = np.repeat([0, 1, 2, 3], [24, 8, 12, 12])
            p = create_head(name).fit(X, y, 4).predict_proba(A[32:])
            shares.append(p[:, 1].sum() / p[:, :2].sum())
    share = float(np.mean(shares))
    print(f"{name}: small class's share {share:.2f} (balanced 0.5, proportional 0.25): {np.round(shares, 2)}")
    assert share >= 0.3, f"{name}: the class with 3x the photos swallows the small one (share {share:.2f})"


def test_unknown_head_is_a_user_error():
    from whosthat.core.errors import WhosthatError

    with pytest.raises(WhosthatError, match="choose one of"):
        create_head("no-such-head")


def test_round_robin_folds_deal_each_class_out_evenly() -> None:
    y = np.repeat([0, 1, 2], [7, 2, 1])
    fold = round_robin_folds(y, 3, seed=0)
    for c, n in enumerate([7, 2, 1]):
        counts = np.bincount(fold[y == c], minlength=3)
        assert counts.max() - counts.min() <= 1 and counts.sum() == n
    np.testing.assert_array_equal(fold, round_robin_folds(y, 3, seed=0))


def test_cross_val_proba_scores_every_row_unseen(data) -> None:
    """Held-out photos of five members are named about as well as new ones; a member with one photo
    cannot be named from the other folds, and the other rows are unaffected."""
    (X, y), _ = data
    p = cross_val_proba("logistic", X, y, len(CLASSES), folds=3)
    assert p.shape == (len(y), len(CLASSES))
    assert (p.argmax(axis=1) == y).mean() >= 0.8
    single = np.concatenate([np.flatnonzero(y != 4), np.flatnonzero(y == 4)[:1]])
    p = cross_val_proba("logistic", X[single], y[single], len(CLASSES), folds=3)
    assert p[-1].argmax() != 4
    assert (p[:-1].argmax(axis=1) == y[single][:-1]).mean() >= 0.8
