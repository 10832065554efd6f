"""Corrections of an index's names (`Index.confirm` ... `undo`, `whosthat label`): kept in the index's labels table
by photo content and face, read by `find` and the summary, outliving re-indexing, renames and relabelling."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BLACKPINK_GROUP, BLACKPINK_MEMBERS, link_tree
from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.collection.corrections import CorrectionError
from whosthat.collection.lock import LOCK_FILE, IndexBusyError

GROUP = f"group/{BLACKPINK_GROUP.name}"


@pytest.fixture
def opened(built: Index, tmp_path: Path) -> Index:
    """A copy of the built index that a test may correct (the built one is shared by other tests)."""
    return Index(shutil.copytree(built.directory, tmp_path / "index"))


def faces_named(opened: Index, name: str) -> set[tuple[str, int]]:
    """(photo, face) of every face `find` names `name`."""
    return {(h.name, f.face) for h in opened.find(name, limit=None) for f in h.faces}


def a_face_of(opened: Index, name: str, folder: str) -> tuple[str, int]:
    """A face the model names `name` in a photo under `folder`."""
    return min(f for f in faces_named(opened, name) if f[0].startswith(folder))


def test_each_kind_of_correction_names_the_face_and_undo_takes_it_back(opened: Index) -> None:
    before = opened.summary().names
    jennie = a_face_of(opened, "jennie_kim", "members/jennie_kim/")
    moved = opened.move(*jennie, "lisa_manoban")
    assert [(c.kind, c.name) for c in moved] == [("not", "jennie_kim"), ("confirm", "lisa_manoban")]
    assert len({c.action for c in moved}) == 1 and moved[0].id < moved[1].id
    assert jennie in faces_named(opened, "lisa_manoban") and jennie not in faces_named(opened, "jennie_kim")
    hit = next(h for h in opened.find("lisa_manoban", limit=None) if h.name == jennie[0])
    assert hit.faces[0].confidence == 1.0, "a name the user gave is sure"

    jisoo = a_face_of(opened, "jisoo_kim", "members/jisoo_kim/")
    (row,) = opened.reject(*jisoo, "jisoo_kim")
    assert (row.kind, row.name, row.face) == ("not", "jisoo_kim", jisoo[1])
    assert jisoo in faces_named(opened, "unknown") and jisoo not in faces_named(opened, "jisoo_kim")

    stranger = a_face_of(opened, "rose_park", "members/rose_park/")
    digest = next(h.content_hash for h in opened.find("rose_park", limit=None) if h.name == stranger[0])
    (row,) = opened.stranger(digest, stranger[1])
    assert (row.kind, row.name, row.content_hash) == ("stranger", "", digest)
    assert stranger in faces_named(opened, "unknown") and stranger not in faces_named(opened, "rose_park")

    mindy = min(f for f in faces_named(opened, "unknown") if f[0].startswith("strangers/mindy_kaling/"))
    new_person = "Mindy <b onclick=\"x()\">Kaling & co"
    opened.confirm(*mindy, new_person)
    assert faces_named(opened, new_person) == {mindy}, "a new person's name is kept as text, and can be found"
    after = opened.summary().names
    assert after[new_person] == 1 and after["lisa_manoban"] == before["lisa_manoban"] + 1
    assert after["rose_park"] == before["rose_park"] - 1 and after["jisoo_kim"] == before["jisoo_kim"] - 1
    assert sum(after.values()) == sum(before.values())

    assert [c.kind for c in opened.corrections()] == ["not", "confirm", "not", "stranger", "confirm"]
    assert [c.name for c in opened.undo()] == [new_person]
    assert [c.kind for c in opened.undo()] == ["stranger"]
    assert stranger in faces_named(opened, "rose_park")
    opened.undo()
    assert [c.kind for c in opened.undo()] == ["not", "confirm"], "a move is one action"
    assert opened.corrections() == [] and opened.summary().names == before
    with pytest.raises(CorrectionError, match="no correction to undo"):
        opened.undo()


def test_latest_correction_of_a_face_wins(opened: Index) -> None:
    face = a_face_of(opened, "jisoo_kim", "members/jisoo_kim/")
    opened.confirm(*face, "rose_park")
    opened.confirm(*face, "lisa_manoban")
    opened.reject(*face, "rose_park")
    assert face in faces_named(opened, "lisa_manoban"), "not a name it no longer has changes nothing"
    opened.reject(*face, "lisa_manoban")
    assert face in faces_named(opened, "unknown")
    assert len(opened.corrections()) == 4, "every row is kept"
    assert face not in {(h.name, f.face) for h in opened.find(unsure=True, below=1.01, limit=None) for f in h.faces}


@pytest.mark.parametrize("name, why", [
    ("", "must not be empty"), ("   ", "must not be empty"), ("x" * 101, "at most 100"),
    ("a/b", "slash"), ("a\\b", "slash"), ("<script>alert(1)</script>", "slash"), ("line\nbreak", "control"),
    ("unknown", "not a person's name"), ("Unknown", "not a person's name"), (".hidden", "dot")])
def test_names_that_cannot_be_a_person_are_refused(opened: Index, name: str, why: str) -> None:
    with pytest.raises(CorrectionError, match=why) as refused:
        opened.confirm(GROUP, 0, name)
    assert "\n" not in str(refused.value)
    assert opened.corrections() == []


def test_a_photo_or_face_not_in_the_index_is_refused(opened: Index) -> None:
    for photo, face, why in [("no/such.jpg", 0, "no such photo"), ("0" * 64, 0, "no such photo"),
                             (GROUP, 99, "no face 99"), (GROUP, -1, "no face -1"),
                             ("broken/empty.jpg", 0, "no face 0")]:
        with pytest.raises(CorrectionError, match=why):
            opened.confirm(photo, face, "jennie_kim")
    (row,) = opened.confirm(GROUP, 0, "<script>")
    assert row.name == "<script>", "HTML in a name is data"


def test_corrections_outlive_reindexing_renames_and_relabelling(own_collection: Path, model_file: Path,
                                                                 blackpink_train_dir: Path, session_cache: Path,
                                                                 tmp_path: Path) -> None:
    import whosthat

    opened = index(model_file, own_collection, cache_dir=session_cache)
    face = a_face_of(opened, "lisa_manoban", "members/lisa_manoban/")
    opened.move(*face, "jisoo_kim")
    moved = f"renamed/{Path(face[0]).name}"
    (own_collection / "renamed").mkdir()
    (own_collection / face[0]).rename(own_collection / moved)
    opened = index(model_file, own_collection, cache_dir=session_cache)
    assert opened.last_run is not None and opened.last_run.added + opened.last_run.removed >= 2
    assert (moved, face[1]) in faces_named(opened, "jisoo_kim")
    assert [c.kind for c in opened.corrections()] == ["not", "confirm"]

    three = link_tree(tmp_path / "three", {m: sorted((blackpink_train_dir / m).iterdir())
                                           for m in BLACKPINK_MEMBERS[:3]})
    other = whosthat.train(three, out=tmp_path / "three.wt", embedder="facenet", test_fraction=0.0,
                           cache_dir=session_cache)
    assert other.classes == BLACKPINK_MEMBERS[:3]
    opened = index(tmp_path / "three.wt", own_collection, relabel=True, cache_dir=session_cache)
    assert opened.members == BLACKPINK_MEMBERS[:3]
    assert (moved, face[1]) in faces_named(opened, "jisoo_kim"), "the correction outlives the new model's names"


HOLD = ("import sys, time\nfrom whosthat.collection.lock import IndexLock\n"
        "with IndexLock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(float(sys.argv[2]))\n")


def test_a_correction_while_another_process_writes_waits_or_is_refused(opened: Index) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(opened.directory), "2"], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(IndexBusyError, match=f"process {holder.pid}") as busy:
            opened.confirm(GROUP, 0, "jennie_kim")
        assert "\n" not in str(busy.value) and opened.corrections() == []
        started = time.monotonic()
        (row,) = opened.confirm(GROUP, 0, "jennie_kim", wait=30)
        assert time.monotonic() - started > 0.5 and holder.wait(timeout=30) == 0
        assert opened.corrections() == [row]
        assert (opened.directory / LOCK_FILE).read_text() == ""
    finally:
        holder.kill()
        holder.wait()


def test_label_command(opened: Index, capsys: pytest.CaptureFixture) -> None:
    folder = str(opened.directory)
    face = a_face_of(opened, "jennie_kim", "members/jennie_kim/")
    assert main(["label", folder, f"{face[0]}:{face[1]}", "rose_park"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"recorded: not jennie_kim of face {face[1]} of {face[0]}",
                   f"recorded: confirm rose_park of face {face[1]} of {face[0]}"]
    assert main(["label", folder, GROUP, "--stranger"]) == 0
    assert main(["label", folder, f"{GROUP}:1", "--not", "lisa_manoban"]) == 0
    capsys.readouterr()
    assert main(["label", folder, "--list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["kind"], r["name"], r["path"], r["face"]) for r in listed] == [
        ("not", "jennie_kim", face[0], face[1]), ("confirm", "rose_park", face[0], face[1]),
        ("stranger", "", GROUP, 0), ("not", "lisa_manoban", GROUP, 1)]
    assert main(["find", folder, "--name", "rose_park", "--json", "--limit", "0"]) == 0
    assert face[0] in [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()]
    assert main(["label", folder, "--undo"]) == 0
    assert capsys.readouterr().out == f"took back: not lisa_manoban of face 1 of {GROUP}\n"
    assert main(["label", folder, "--list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    for argv, words in [([GROUP, "a/b"], "slash"), ([GROUP, ""], "empty"), ([GROUP, "--not", ""], "empty"),
                        ([f"{GROUP}:9", "jisoo_kim"], "no face 9"),
                        ([GROUP, "jisoo_kim", "--stranger"], "say one thing"), ([], "say one thing"),
                        (["--undo", "--list"], "say one thing"), ([GROUP, "--undo"], "take no PHOTO"),
                        (["--stranger"], "say which face")]:
        assert main(["label", folder, *argv]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("whosthat: error: ") and words in err[0], (argv, err)
    for _ in range(2):  # the stranger, then the move (one action)
        assert main(["label", folder, "--undo"]) == 0
    assert main(["label", folder, "--undo"]) == 2
    assert "no correction to undo" in capsys.readouterr().err
