"""`whosthat index`: every face of a real collection into the index; incremental runs, relabelling, bad input."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import whosthat
from collection.photos import BROKEN, PER_MEMBER, STRANGERS, copy_photos, stranger_photos
from conftest import BLACKPINK_GROUP, BLACKPINK_MEMBERS
from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.collection.lock import IndexLock
from whosthat.collection.schema import DEFAULT_FOLDER, MANIFEST, IndexFileError
from whosthat.core.errors import WhosthatError

GOOD_PHOTOS = 4 * PER_MEMBER + sum(STRANGERS.values()) + 1


def rows(opened: Index) -> list[tuple]:
    """Every row as (path, face, label, rounded box): what two indexes of the same photos must share."""
    table = opened.store.scan(["path", "face", "label", "box"]).to_pylist()
    return sorted((r["path"], r["face"], r["label"], tuple(round(v) for v in r["box"] or ())) for r in table)


def test_index_holds_every_face_of_every_photo_and_lists_the_unreadable(built: Index, collection: Path) -> None:
    run = built.last_run
    assert run is not None and run.added == GOOD_PHOTOS + len(BROKEN) and run.photos == run.added
    assert sorted(Path(line.split(": ", 1)[0]).relative_to(collection).as_posix() for line in run.unreadable) \
        == sorted(BROKEN)
    assert any("empty file" in line for line in run.unreadable)
    assert any("truncated" in line for line in run.unreadable)
    summary = built.summary()
    assert summary.unreadable == len(BROKEN) and summary.photos == GOOD_PHOTOS + len(BROKEN)
    paths = {r["path"] for r in built.store.photos().to_pylist()}
    assert not any(p.startswith(".") or p.endswith(".txt") for p in paths), "hidden folders and non-images are skipped"
    group = [r for r in built.store.scan(["path", "face", "faces", "label"]).to_pylist() if r["path"] == "group/"
             + BLACKPINK_GROUP.name]
    assert len(group) == 4 and sorted(r["label"] for r in group) == sorted(BLACKPINK_MEMBERS)
    assert [r["face"] for r in group] == [0, 1, 2, 3] and {r["faces"] for r in group} == {4}
    strangers = built.store.scan(["label"], "path LIKE 'strangers/%' AND face >= 0")["label"].to_pylist()
    assert strangers and set(strangers) == {"unknown"}


def test_index_stores_what_the_model_predicts(built: Index, blackpink_model: whosthat.Model, collection: Path) -> None:
    photo = collection / "members" / "lisa_manoban"
    name = sorted(photo.iterdir())[0]
    predicted = blackpink_model.predict(name)
    stored = built.store.scan(["face", "box", "label", "confidence", "vector"],
                              f"path = 'members/lisa_manoban/{name.name}'").to_pylist()
    assert [r["label"] for r in stored] == predicted.labels
    for row, face in zip(stored, predicted):
        assert row["box"] == pytest.approx(face.box.tolist(), abs=0.01)
        assert row["confidence"] == pytest.approx(face.confidence, abs=1e-5)
        assert len(row["vector"]) == 128


def test_a_second_run_reads_nothing_and_a_grown_collection_only_what_is_new(own_collection: Path, model_file: Path,
                                                                             session_cache: Path) -> None:
    first = index(model_file, own_collection, cache_dir=session_cache).last_run
    again = index(model_file, own_collection, cache_dir=session_cache).last_run
    assert again.added == again.changed == again.removed == 0 and again.unchanged == first.photos
    assert "recognise" in again.timings and again.timings["recognise"] < 0.01

    removed = sorted((own_collection / "members" / "jisoo_kim").iterdir())[0]
    removed.unlink()
    changed = own_collection / "group" / BLACKPINK_GROUP.name
    changed.write_bytes(changed.read_bytes() + b"\0")  # other bytes, the same picture
    copy_photos(own_collection, {"strangers/elton_john": stranger_photos({"elton_john": 2})["elton_john"]})
    grown = index(model_file, own_collection, cache_dir=session_cache)
    run = grown.last_run
    assert (run.added, run.changed, run.removed) == (2, 1, 1)
    assert run.photos == first.photos + 1
    names = {r["path"] for r in grown.store.photos().to_pylist()}
    assert f"members/jisoo_kim/{removed.name}" not in names and "strangers/elton_john" in {n.rsplit("/", 1)[0]
                                                                                           for n in names}
    assert len([r for r in grown.store.scan(["path"], f"path = 'group/{changed.name}'").to_pylist()]) == 4


def test_relabel_names_the_stored_faces_with_a_new_model_without_embedding_again(
        own_collection: Path, model_file: Path, blackpink_train_dir: Path, session_cache: Path,
        tmp_path: Path) -> None:
    three = tmp_path / "three"
    for member in BLACKPINK_MEMBERS[:3]:
        shutil.copytree(blackpink_train_dir / member, three / member, symlinks=True)
    new_model = whosthat.train(three, out=tmp_path / "three.wt", embedder="facenet", test_fraction=0.0,
                               cache_dir=session_cache)
    folder = tmp_path / "photos.index"
    index(model_file, own_collection, index=folder, cache_dir=session_cache)
    with pytest.raises(IndexFileError, match="--relabel"):
        index(tmp_path / "three.wt", own_collection, index=folder, cache_dir=session_cache)

    relabelled = index(tmp_path / "three.wt", index=folder, relabel=True, use_cache=False)
    run = relabelled.last_run
    assert run.relabelled == run.photos and run.added == 0 and "relabel" in run.timings
    assert relabelled.members == BLACKPINK_MEMBERS[:3]
    fresh = index(new_model, own_collection, index=tmp_path / "fresh.index", cache_dir=session_cache)
    assert rows(relabelled) == rows(fresh), "relabelling names the faces as a new index with the model would"
    assert BLACKPINK_MEMBERS[3] not in {r[2] for r in rows(relabelled)}
    assert len(list((folder / "models").iterdir())) == 1, "the old model's copy is gone"


def test_cli_index_reports_and_exits_1_for_unreadable_photos(collection: Path, model_file: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "cli.index"
    status = main(["index", str(model_file), str(collection), "--index", str(folder), "--json",
                   "--cache-dir", str(os.environ["WHOSTHAT_CACHE_DIR"])])
    report = json.loads(capsys.readouterr().out)
    assert status == 1 and report["added"] == GOOD_PHOTOS + len(BROKEN) and len(report["unreadable"]) == len(BROKEN)
    status = main(["index", str(model_file), "--index", str(folder)])
    out = capsys.readouterr().out
    assert status == 0, "unchanged unreadable photos do not fail the run again"
    assert f"{GOOD_PHOTOS + len(BROKEN)} unchanged" in out and f"{len(BROKEN)} photos of the index could not" in out


@pytest.mark.parametrize("problem", ["file", "missing", "not-an-index", "newer", "other-pipeline", "other-collection"])
def test_bad_collections_and_indexes_are_one_clear_line(problem: str, built: Index, collection: Path,
                                                        model_file: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture) -> None:
    target = tmp_path / "index"
    args = ["index", str(model_file), str(collection), "--index", str(target)]
    if problem == "file":
        args[2] = str(collection / "group" / BLACKPINK_GROUP.name)
        expected = "is a file, not a folder of photos"
    elif problem == "missing":
        args[2] = str(tmp_path / "nowhere")
        expected = "no such collection folder"
    elif problem == "not-an-index":
        target.mkdir()
        (target / "holiday.jpg").write_bytes(b"mine")
        expected = "exists and is not a whosthat index"
    else:
        shutil.copytree(built.directory, target)
        manifest = json.loads((target / MANIFEST).read_text())
        if problem == "newer":
            manifest["format_version"] = 99
            expected = "index format 99 is newer than this whosthat reads"
        elif problem == "other-pipeline":  # with a photo to embed: its vector would not match the stored ones
            photos = Path(shutil.copytree(collection, tmp_path / "photos", ignore=shutil.ignore_patterns(".*")))
            copy_photos(photos, {"new": stranger_photos({"jerry_seinfeld": 1})["jerry_seinfeld"]})
            manifest["pipeline"] = "yunet|dlib@other"
            manifest["collection"] = str(photos.resolve())
            args[2] = str(photos)
            expected = "another pipeline"
        else:
            args[2] = str(tmp_path)
            expected = f"is the index of {collection}"
        (target / MANIFEST).write_text(json.dumps(manifest))
    before = sorted(p.name for p in target.iterdir()) if target.exists() else None
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("whosthat: error: ") and expected in err[0], err
    assert (sorted(p.name for p in target.iterdir()) if target.exists() else None) == before, "nothing written"


def test_find_on_a_folder_that_is_not_an_index(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["find", str(tmp_path)]) == 2
    assert "not a whosthat index" in capsys.readouterr().err
    assert main(["find", str(tmp_path / "gone")]) == 2
    assert "no such index" in capsys.readouterr().err


def test_a_second_run_on_the_same_index_refuses_while_the_first_writes(built: Index, model_file: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    with IndexLock(built.directory):
        assert main(["index", str(model_file), "--index", str(built.directory), "--wait", "0.3"]) == 2
    err = capsys.readouterr().err
    assert f"another run (process {os.getpid()}) is writing this index" in err
    assert main(["index", str(model_file), "--index", str(built.directory), "--json"]) == 1 - 1, "free again"


def test_a_photo_deleted_during_the_run_is_reported_and_not_indexed(own_collection: Path, model_file: Path,
                                                                   session_cache: Path) -> None:
    doomed = sorted((own_collection / "strangers" / "mindy_kaling").iterdir())[-1]
    calls = []

    def progress(total: int):
        def advance(n: int) -> None:
            if not calls:
                doomed.unlink()
            calls.append(n)
        return advance

    opened = index(model_file, own_collection, index=own_collection / DEFAULT_FOLDER, cache_dir=session_cache,
                   batch=4, progress=progress)
    run = opened.last_run
    name = doomed.relative_to(own_collection).as_posix()
    assert run.vanished == (name,) and not any(name in line for line in run.unreadable)
    assert name not in {r["path"] for r in opened.store.photos().to_pylist()}
    assert index(model_file, own_collection, cache_dir=session_cache).last_run.removed == 0


def test_index_api_refuses_without_a_collection(tmp_path: Path, model_file: Path) -> None:
    with pytest.raises(WhosthatError, match="COLLECTION"):
        index(model_file)
