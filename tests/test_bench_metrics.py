"""bench/strangers.py's BCubed precision, recall and F on hand-made clusterings with known values."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from strangers import bcubed  # noqa: E402

TRUTH = ["a", "a", "a", "b", "b", "c"]


def test_a_perfect_clustering_scores_one() -> None:
    assert bcubed(TRUTH, [7, 7, 7, 3, 3, 1]) == (1.0, 1.0, 1.0)


def test_one_cluster_of_everything_has_full_recall_and_low_precision() -> None:
    precision, recall, f = bcubed(TRUTH, [0] * 6)
    assert recall == 1.0
    assert precision == pytest.approx((3 * 3 + 2 * 2 + 1) / 36)  # sum over classes of (n_g / N)^2
    assert f == pytest.approx(2 * precision / (precision + 1))


def test_singletons_have_full_precision_and_recall_of_classes_over_items() -> None:
    precision, recall, f = bcubed(TRUTH, list(range(6)))
    assert precision == 1.0
    assert recall == pytest.approx(3 / 6)  # each item recalls 1 / n_g of its class: the mean is classes / N
    assert f == pytest.approx(2 / 3)


def test_a_mixed_clustering_by_hand() -> None:
    # clusters {a, a, b} and {a, b, c}: precisions 2/3, 2/3, 1/3, 1/3, 1/3, 1/3; recalls 2/3, 2/3, 1/3, 1/2, 1/2, 1
    precision, recall, _ = bcubed(TRUTH, [0, 0, 1, 0, 1, 1])
    assert precision == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 3 + 1 / 3 + 1 / 3) / 6)
    assert recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2 + 1) / 6)


def test_no_items_is_nan_and_mismatched_lengths_are_refused() -> None:
    assert all(math.isnan(v) for v in bcubed([], []))
    with pytest.raises(ValueError):
        bcubed(["a"], [0, 1])
