"""The model file's records read back what they wrote (small records the tests make; no photos needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from whosthat.models import records
from whosthat.models.file import read_bundle, write_bundle
from whosthat.models.records import (
    EpochStats,
    FinetuneLog,
    Metrics,
    Note,
    ReferencePhotos,
    Split,
    SplitRecord,
    TrainingRecord,
    ValidationRecord,
)
from whosthat.training.evaluate import NO_FACE, UNKNOWN, Evaluation


def evaluation(root: Path) -> Evaluation:
    """Four photos of two members and a stranger: one right, one wrong, one unknown, one without a face."""
    paths = [str(root / p) for p in ("a/1.jpg", "a/2.jpg", "b/3.jpg", "x/4.jpg")]
    return Evaluation(["a", "b"], paths, truth=np.array([0, 0, 1, -1]), predicted=np.array([0, 1, UNKNOWN, NO_FACE]),
                      confidence=np.array([0.9, 0.6, 0.4, 0.0]), top1=np.array([True, False, True, False]),
                      top2=np.array([True, True, True, False]), among=np.array([True, False, False, False]),
                      rejected=np.array([False, False, True, False]),
                      boxes=np.array([[1, 2, 3, 4]] * 3 + [[np.nan] * 4], np.float32))


def training_record(root: Path) -> TrainingRecord:
    split = SplitRecord(Split(("a/1.jpg", "b/2.jpg"), ("a/3.jpg",), ("b/4.jpg",), 7), str(root), None)
    history = (EpochStats(1, 1.0, 0.5, 1.1, 0.4, 1e-3, 2.0), EpochStats(2, 0.8, 0.6, 0.9, 0.7, 5e-4, 2.0))
    return TrainingRecord(
        split=split, notes=(Note(str(root / "a/5.jpg"), "no face", "no face found, not used"),), photos_used=3,
        seconds={"embedding": 1.5, "fit": 0.2, "total": 2.0}, detector="yunet", subject_chosen_by="given",
        reference_photos=ReferencePhotos(str(root), ("a/1.jpg", "b/2.jpg", "a/3.jpg"),
                                         np.arange(12, dtype=np.float32).reshape(3, 4)),
        content_keys=np.arange(96, dtype=np.uint8).reshape(3, 32),
        validation=ValidationRecord(("a/3.jpg",), np.array([[0.7, 0.3]], np.float32), np.array([0])),
        test=evaluation(root).record(root),
        finetune=FinetuneLog("mobilenetv2", {"optimizer": "adamw", "lr": 5e-4}, history, best_epoch=2,
                             stopped_early=False, device="cpu"))


def test_metrics_are_the_evaluation_s_figures_and_read_back(tmp_path: Path) -> None:
    figures = evaluation(tmp_path)
    metrics = figures.metrics()
    assert metrics.photos == 4 and metrics.accuracy == figures.accuracy == 1 / 3
    assert metrics.strangers_accepted == 0.0 and metrics.no_face == 1
    assert [c.name for c in metrics.per_class] == ["a", "b"] and metrics.confusion_columns[-2:] == ("unknown",
                                                                                                   "no face")
    again = Metrics.from_dict(metrics.to_dict())
    assert again.to_dict() == metrics.to_dict()
    assert "accuracy (largest face): 33.3%" in again.format_text() == figures.format_text()


def test_a_test_record_keeps_paths_relative_to_its_root(tmp_path: Path) -> None:
    record = evaluation(tmp_path).record(tmp_path)
    assert record.paths == ("a/1.jpg", "a/2.jpg", "b/3.jpg", "x/4.jpg") and record.root == str(tmp_path.resolve())
    outcomes = record.outcomes()
    assert [o.wrong for o in outcomes] == [False, True, True, False]
    assert outcomes[1].path == tmp_path.resolve() / "a/2.jpg"


def test_a_training_record_round_trips_through_a_model_file(tmp_path: Path) -> None:
    record = training_record(tmp_path)
    meta, arrays = record.to_bundle()
    path = write_bundle(tmp_path / "r.wt", {"training": meta}, arrays)
    manifest, back = read_bundle(path)
    again = TrainingRecord.from_bundle(manifest["training"], back)
    assert again.split == record.split and again.notes == record.notes and again.finetune == record.finetune
    assert again.seconds == record.seconds and again.learned_keys() == record.learned_keys()
    np.testing.assert_array_equal(again.reference_photos.boxes, record.reference_photos.boxes)
    np.testing.assert_array_equal(again.validation.probabilities, record.validation.probabilities)
    assert again.test.metrics.to_dict() == record.test.metrics.to_dict() and again.test.paths == record.test.paths
    np.testing.assert_array_equal(again.test.boxes, record.test.boxes)


def test_optional_parts_stay_absent(tmp_path: Path) -> None:
    record = training_record(tmp_path)
    bare = TrainingRecord(record.split, (), 0, {}, "whole", "given", record.reference_photos, record.content_keys)
    meta, arrays = bare.to_bundle()
    assert "test" not in meta and "validation" not in meta and meta["finetune"] is None
    again = TrainingRecord.from_bundle(meta, arrays)
    assert again.test is None and again.validation is None and again.finetune is None
    assert isinstance(records.TestRecord.from_bundle(*record.test.to_bundle()).metrics, Metrics)
