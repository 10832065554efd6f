"""The stages of `whosthat.train` one by one (`whosthat.training.run`), and the record a trained model keeps."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

import whosthat
from conftest import KPOP15, KPOP_KNOWN, images_of, kpop_split, link_tree
from whosthat.core.errors import DatasetError
from whosthat.models.model import Model
from whosthat.models.records import Split
from whosthat.recognition.recogniser import Recogniser
from whosthat.training import TrainingLog, run
from whosthat.training.faces import Rows
from whosthat.vision.vectors import normalise


@pytest.fixture(scope="module")
def small_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three kpop15 members, eight photos each, and a text file that is not a photo."""
    train, _ = kpop_split()
    root = link_tree(tmp_path_factory.mktemp("small") / "train", {name: train[name][:8] for name in KPOP_KNOWN[:3]})
    (root / KPOP_KNOWN[0] / "notes.txt").write_text("not a photo")
    return root


def test_train_is_a_short_sequence_of_stages() -> None:
    lines = inspect.getsource(run.train).splitlines()
    assert len(lines) < 60, f"train() is {len(lines)} lines"


def test_scan_notes_skipped_files_and_test_classes_that_are_strangers(small_tree: Path, tmp_path: Path) -> None:
    _, held_out = kpop_split()
    tests = link_tree(tmp_path / "test", {KPOP_KNOWN[0]: held_out[KPOP_KNOWN[0]][:1],
                                          "Sana": images_of(KPOP15 / "Sana")[:1]})
    log = TrainingLog()
    photos = run.scan_photos(small_tree, tests, log)
    assert sorted(photos.collection.classes) == sorted(KPOP_KNOWN[:3]) and len(photos.tests.items) == 2
    assert len(photos.keys) == 3 * 8 + 2 and all(len(k) == 64 for k in photos.keys.values())
    kinds = {note.kind: note for note in log.notes}
    assert "notes.txt" in kinds["skipped"].path and "Sana" in kinds["strangers"].message
    assert log.counts == {name: 8 for name in KPOP_KNOWN[:3]}


def test_split_keeps_each_class_in_training_and_checks_a_given_split(small_tree: Path) -> None:
    photos = run.scan_photos(small_tree, None, TrainingLog())
    split = run.split_photos(photos, None, val_fraction=0.25, test_fraction=0.25, seed=3)
    assert {p.split("/")[0] for p in split.train} == set(KPOP_KNOWN[:3])
    assert not set(split.train) & set(split.val) and not set(split.val) & set(split.test)
    with pytest.raises(DatasetError, match="names photos that are not there: .*gone.jpg"):
        run.split_photos(photos, Split((*split.train, "x/gone.jpg"), (), (), 0), val_fraction=0.1, test_fraction=0.1,
                         seed=0)
    one_class = tuple(p for p in split.train if p.startswith(KPOP_KNOWN[0]))
    with pytest.raises(DatasetError, match="1 class with training photos"):
        run.split_photos(photos, Split(one_class, (), (), 0), val_fraction=0.1, test_fraction=0.1, seed=0)


def test_choose_takes_what_is_given_and_the_embedder_decides_the_kind(small_tree: Path) -> None:
    log = TrainingLog()
    assert run.choose("auto", "yunet", "dlib", [], None, {}, log) == ("yunet", "dlib", "given")
    assert run.choose("auto", None, "facenet", [], None, {}, log) == ("yunet", "facenet", "given")
    assert run.choose("auto", None, "mobilenetv2", [], None, {}, log) == ("whole", "mobilenetv2", "given")
    assert run.choose("character", None, None, [], None, {}, log)[:2] == ("character",
                                                                           "mobilenetv2+efficientnet-lite0")
    with pytest.raises(DatasetError, match="unknown subject 'faces'"):
        run.choose("faces", None, None, [], None, {}, log)
    assert not log.messages, "nothing was chosen by trying, so nothing to say"


def _rows(n: int, seed: int, centres: np.ndarray) -> Rows:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % len(centres)
    X = normalise(centres[y] + 0.3 * rng.normal(size=(n, centres.shape[1])))
    return Rows([f"c{k}/{seed}-{i}.jpg" for i, k in enumerate(y)], X.astype(np.float32), y)


def test_fit_keeps_what_the_head_made_of_validation_faces_before_learning_them() -> None:
    centres = normalise(np.random.default_rng(0).normal(size=(3, 12)))
    train_rows, val_rows = _rows(45, 1, centres), _rows(12, 2, centres)
    settings = Recogniser(whiten=True, seed=0)
    recogniser, validation = run.fit(settings, ["a", "b", "c"], train_rows, val_rows, fine_tuned=False)
    assert recogniser is settings and recogniser.classes_ == ["a", "b", "c"]
    assert len(recogniser.reference_.X) == 57 and recogniser.calibration_.curve.n_members == 57
    alone = Recogniser(whiten=True, calibrate=False).fit(train_rows.X, np.array(["a", "b", "c"])[train_rows.y])
    np.testing.assert_allclose(validation.probabilities, alone.predict_proba(val_rows.X), atol=1e-6)
    assert validation.paths == tuple(val_rows.paths) and (validation.labels == val_rows.y).all()
    tuned, _ = run.fit(Recogniser(whiten=False), ["a", "b", "c"], train_rows, val_rows, fine_tuned=True)
    assert tuned.calibration_.curve.n_members == 12, "a fine-tuned network's training faces are not scored"
    no_val, none = run.fit(Recogniser(), ["a", "b", "c"], train_rows, Rows([], np.zeros((0, 0)), np.zeros(0, int)),
                           fine_tuned=False)
    assert none is None and len(no_val.reference_.X) == 45


def test_a_trained_model_records_its_training(kpop_trained: tuple[Model, Path], kpop_train_dir: Path) -> None:
    model, _ = kpop_trained
    record = model.training
    split = record.split.split
    assert Path(record.split.root) == kpop_train_dir and record.split.test_dir is None
    assert record.detector == "yunet" and record.subject_chosen_by == "given"
    assert record.photos_used == len(model.reference.X) == len(record.reference_photos.paths)
    assert set(record.reference_photos.paths) <= set(split.train + split.val)
    assert set(record.validation.paths) <= set(split.val)
    assert len(record.content_keys) == len(split.train) + len(split.val)
    assert {p.split("/")[0] for p in model.test.paths} <= set(model.classes)
    assert model.test.metrics.photos == len(model.test.paths) == len(split.test)
    assert {"embedding", "fit", "total"} <= set(record.seconds)


def test_train_from_python_returns_the_model_with_its_record(small_tree: Path, session_cache: Path) -> None:
    log = TrainingLog()
    model = whosthat.train(small_tree, embedder="facenet", test_fraction=0.0, cache_dir=session_cache, log=log)
    assert model.training is not None and model.test is None and log.evaluation is None
    assert model.training.notes == tuple(log.notes) and log.split == model.training.split.split


def test_settings_travel_as_one_frozen_config() -> None:
    import dataclasses

    from whosthat import TrainConfig, WhosthatError

    config = TrainConfig(embedder="facenet", test_fraction=0.0)
    changed = config.with_settings(seed=3)
    assert (changed.embedder, changed.test_fraction, changed.seed, config.seed) == ("facenet", 0.0, 3, 0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1  # type: ignore[misc]
    with pytest.raises(WhosthatError, match="unknown training setting 'embeder'"):
        config.with_settings(embeder="dlib")
