"""Format-1 model files (as whosthat wrote them before format 2) still load, predict identically and report.

`data/celebrity5-facenet-format1.wt` was written by the format-1 code: trained on celebrity5/train with
`--test-dir celebrity5/val` and the FaceNet embedder; `data/...predictions.json` holds what that code
predicted for six of the validation photos.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np

import whosthat
from conftest import CELEBRITY5, require
from whosthat.models.ensemble import Ensemble
from whosthat.models.file import FORMAT_VERSION, read_bundle
from whosthat.report import HEADINGS, write_report

DATA = Path(__file__).parents[1] / "data"
FORMAT_1 = DATA / "celebrity5-facenet-format1.wt"
PREDICTIONS = DATA / "celebrity5-facenet-format1.predictions.json"


def test_the_kept_file_is_format_1() -> None:
    manifest, arrays = read_bundle(FORMAT_1)
    assert manifest["format_version"] == 1 and "open_set" in manifest and "head/coef" in arrays


def test_a_format_1_model_predicts_as_it_did() -> None:
    require(CELEBRITY5)
    model = whosthat.load(FORMAT_1)
    expected = json.loads(PREDICTIONS.read_text())
    assert len(expected) == 6
    for relative, faces in expected.items():
        assert model.predict(CELEBRITY5 / "val" / relative).to_dict()["faces"] == faces, relative


def test_a_format_1_model_keeps_its_records() -> None:
    model = whosthat.load(FORMAT_1)
    manifest, _ = read_bundle(FORMAT_1)
    assert model.classes == manifest["classes"] and model.threshold == manifest["open_set"]["threshold"]
    calibration = model.calibration
    assert calibration.curve.n_members == manifest["open_set_calibration"]["members"] > 0
    assert calibration.threshold == calibration.curve.thresholds[calibration.index]
    training = model.training
    assert list(training.split.split.train) == manifest["split"]["train"]
    assert training.split.test_dir == manifest["split"]["test_dir"]
    assert model.test.metrics.to_dict() == manifest["metrics"]
    assert list(model.test.paths) == manifest["report"]["test_paths"]
    assert len(training.reference_photos.paths) == len(model.reference.X) == len(training.reference_photos.boxes)
    assert training.validation is not None and len(training.validation.paths) == len(training.validation.labels)
    assert len(model.learned_keys()) == len(training.content_keys) > 0
    assert [n.kind for n in training.notes] == [n["kind"] for n in manifest["training"]["notes"]]


def test_a_format_1_model_renders_its_report(tmp_path: Path) -> None:
    page = write_report(whosthat.load(FORMAT_1), tmp_path / "old.html").read_text()
    assert all(f"<h2>{heading}</h2>" in page for heading in HEADINGS)
    assert "does not record" not in page


def test_saved_again_it_is_the_current_format_and_the_same_model(tmp_path: Path) -> None:
    old = whosthat.load(FORMAT_1)
    path = old.save(tmp_path / "new.wt")
    manifest, _ = read_bundle(path)
    assert manifest["format_version"] == FORMAT_VERSION == 3
    new = whosthat.load(path)
    X = old.reference.X[:7]
    for name in ("probabilities", "similarity", "stranger"):
        np.testing.assert_array_equal(getattr(new.evidence(X), name), getattr(old.evidence(X), name))
    assert new.calibration.index == old.calibration.index
    assert new.test.metrics.to_dict() == old.test.metrics.to_dict() and new.training.notes == old.training.notes


def test_a_format_1_ensemble_loads(tmp_path: Path) -> None:
    """An ensemble file as format 1 wrote one: each member's whole manifest inside, arrays under members/k/."""
    manifest, arrays = read_bundle(FORMAT_1)
    ensemble_manifest = {**{k: manifest[k] for k in ("format", "format_version", "whosthat_version", "classes")},
                         "pipeline": {"detector": manifest["pipeline"]["detector"],
                                      "embedder": {"name": "ensemble", "params": {"members": 2}},
                                      "head": {"name": "mean of members", "params": {}}},
                         "weights": manifest["weights"], "open_set": {"threshold": 0.0},
                         "ensemble": {"members": [manifest, manifest]}, "metrics": manifest["metrics"]}
    buffer = io.BytesIO()
    np.savez(buffer, **{f"members/{k}/{name}": v for k in range(2) for name, v in arrays.items()})
    path = tmp_path / "both.wt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manifest.json", json.dumps(ensemble_manifest))
        archive.writestr("arrays.npz", buffer.getvalue())
    ensemble = whosthat.load(path)
    assert isinstance(ensemble, Ensemble) and len(ensemble.members) == 2 and ensemble.threshold == 0.0
    assert ensemble.test.metrics.to_dict() == manifest["metrics"] and ensemble.test.paths == ()
    X = np.hstack([ensemble.members[0].reference.X[:3]] * 2)
    np.testing.assert_allclose(ensemble.evidence(X).probabilities,
                               ensemble.members[0].evidence(X[:, :X.shape[1] // 2]).probabilities)
    assert "<h2>Summary</h2>" in write_report(ensemble, tmp_path / "both.html").read_text()
