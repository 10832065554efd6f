"""The stranger threshold's trade-off of an evaluation, on real photos: the kpop model's held-out photos of its
members, and photos of kpop15 idols it does not know as the strangers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import KPOP15, KPOP_STRANGERS, images_of, link_tree
from whosthat.models.model import Model
from whosthat.training.evaluate import Evaluation, evaluate_folder
from whosthat.training.tradeoff import (
    DECIMALS,
    REJECTION_TARGETS,
    TradeoffRow,
    operating_points,
    threshold_under,
    without_repeats,
)
from whosthat.vision.cache import EmbeddingCache

MEMBER_PHOTOS, STRANGER_PHOTOS = 8, 6


@pytest.fixture(scope="module")
def members_dir(kpop_held_out: dict[str, list[Path]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Up to MEMBER_PHOTOS held-out photos of each member the kpop model knows."""
    chosen = {name: photos[:MEMBER_PHOTOS] for name, photos in kpop_held_out.items() if photos}
    return link_tree(tmp_path_factory.mktemp("members"), chosen)


@pytest.fixture(scope="module")
def with_strangers(members_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The members' photos and STRANGER_PHOTOS photos of each idol the model does not know."""
    folder = tmp_path_factory.mktemp("with-strangers")
    for person in members_dir.iterdir():
        (folder / person.name).symlink_to(person, target_is_directory=True)
    return link_tree(folder, {name: images_of(KPOP15 / name)[:STRANGER_PHOTOS] for name in KPOP_STRANGERS})


@pytest.fixture(scope="module")
def evaluated(kpop_model: Model, with_strangers: Path, session_cache: Path) -> Evaluation:
    return evaluate_folder(kpop_model, with_strangers, cache=EmbeddingCache(session_cache))


def test_strangers_named_fall_and_members_rejected_rise_as_the_threshold_rises(evaluated: Evaluation) -> None:
    tradeoff = evaluated.tradeoff
    assert tradeoff is not None and tradeoff.stranger_photos == len(KPOP_STRANGERS) * STRANGER_PHOTOS
    rows = tradeoff.rows
    thresholds = [row.point.threshold for row in rows]
    assert thresholds == sorted(thresholds) and len(set(thresholds)) == len(rows) >= 3
    rejected = [row.members_rejected for row in rows]
    strangers = [row.strangers_accepted for row in rows]
    named = [row.among_names_accuracy for row in rows]
    assert rejected == sorted(rejected) and rejected[-1] > rejected[0]
    assert strangers == sorted(strangers, reverse=True) and strangers[0] > strangers[-1]
    assert named == sorted(named, reverse=True)


def test_each_picked_row_keeps_to_its_share_of_members_and_is_printed_as_typed(evaluated: Evaluation) -> None:
    picked = [row for row in evaluated.tradeoff.rows if row.point.target is not None]
    assert picked and {row.point.target for row in picked} <= set(REJECTION_TARGETS)
    for row in picked:
        assert row.members_rejected <= row.point.target
        assert f"{row.point.threshold:.{DECIMALS}f}" in evaluated.format_text()
        if not row.point.calibrated:
            assert float(f"{row.point.threshold:.{DECIMALS}f}") == row.point.threshold, "--threshold as printed"


def test_the_calibrated_row_is_what_evaluate_reports(evaluated: Evaluation, kpop_model: Model) -> None:
    (calibrated,) = [row for row in evaluated.tradeoff.rows if row.point.calibrated]
    assert calibrated.point.threshold == kpop_model.threshold and not calibrated.point.given
    assert (calibrated.accuracy, calibrated.among_names_accuracy, calibrated.members_rejected,
            calibrated.strangers_accepted) == (evaluated.accuracy, evaluated.among_accuracy,
                                               evaluated.members_rejected, evaluated.strangers_accepted)
    line = next(line for line in evaluated.format_text().splitlines() if line.endswith("calibrated"))
    assert f"{evaluated.strangers_accepted:.1%}" in line and f"{evaluated.members_rejected:.1%}" in line
    figures = evaluated.to_dict()
    assert figures["strangers_accepted"] == evaluated.strangers_accepted and "per_class" in figures
    rows = figures["tradeoff"]["rows"]
    assert [r["threshold"] for r in rows] == [row.point.threshold for row in evaluated.tradeoff.rows]
    assert [r for r in rows if r["calibrated"]][0]["members_rejected"] == evaluated.members_rejected


def test_a_given_threshold_gets_its_own_row_beside_the_calibrated_one(kpop_model: Model, with_strangers: Path,
                                                                      evaluated: Evaluation,
                                                                      session_cache: Path) -> None:
    given = round(kpop_model.threshold + 1.0, DECIMALS)
    elsewhere = evaluate_folder(kpop_model, with_strangers, cache=EmbeddingCache(session_cache), threshold=given)
    marks = {row.point.threshold: row for row in elsewhere.tradeoff.rows if row.point.calibrated or row.point.given}
    assert marks[given].point.given and marks[given].strangers_accepted == elsewhere.strangers_accepted
    assert marks[kpop_model.threshold].point.calibrated
    assert marks[kpop_model.threshold].members_rejected == evaluated.members_rejected
    assert "given (--threshold)" in elsewhere.format_text()


def test_without_strangers_the_column_is_absent(kpop_model: Model, members_dir: Path, session_cache: Path) -> None:
    evaluation = evaluate_folder(kpop_model, members_dir, cache=EmbeddingCache(session_cache))
    assert evaluation.tradeoff.stranger_photos == 0
    assert all(row.strangers_accepted is None for row in evaluation.tradeoff.rows)
    table = evaluation.format_text().split("trade-off", 1)[1]
    assert "strangers named" not in table and "no photos of strangers" in table


def test_one_row_per_threshold_and_none_repeating_the_calibrated_one() -> None:
    points = operating_points(0.5, 0.25, [(0.01, 0.25), (0.02, 0.25), (0.05, 1.0)])
    assert [(p.threshold, p.calibrated, p.given, p.target) for p in points] == [
        (0.25, False, True, 0.01), (0.5, True, False, None), (1.0, False, False, 0.05)]
    rows = [TradeoffRow(p, 0.9, 0.95, rejected, 0.1) for p, rejected in zip(points, (0.0, 0.02, 0.02))]
    kept = without_repeats(rows)
    assert [row.point.threshold for row in kept] == [0.25, 0.5] and kept[1].point.target == 0.05
    scores = np.array([-1.23456, 0.5, 0.7])
    assert threshold_under(scores, 0) == -1.235 and threshold_under(scores, 3) == 0.701
    assert threshold_under(scores, 1) == -0.367 and -1.23456 < threshold_under(scores, 1) <= 0.5
