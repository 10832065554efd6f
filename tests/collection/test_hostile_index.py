"""`whosthat index` under hostile input: the user's own files where an index would go, model names read from the
index, symbolic links that loop, file names that are not UTF-8, a damaged index, folders that cannot be read or
written (as root too: the runs go without the capabilities that let root past file permissions), and a second
run that waits for the first to make a new index. Nothing of the user's is lost, nothing escapes."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import whosthat
from collection.photos import BROKEN, PER_MEMBER, STRANGERS, copy_photos, member_photos, stranger_photos
from conftest import BLACKPINK_GROUP
from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.collection.lock import IndexLock
from whosthat.collection.scan import photo_path
from whosthat.collection.schema import MODELS_RECORD, IndexFileError, Labeller, Manifest
from whosthat.collection.store import IndexStore, begin_index
from whosthat.core.paths import UnsafePathError

GOOD_PHOTOS = 4 * PER_MEMBER + sum(STRANGERS.values()) + 1
SETPRIV = shutil.which("setpriv")


def one_error_line(stderr: str, *words: str) -> str:
    """The single line a refused command prints, checked to hold `words`."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("whosthat: error: "), lines
    assert all(word in lines[0] for word in words), lines[0]
    return lines[0]


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`whosthat ARGS` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "whosthat.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def cli_as_a_user(*args: str) -> subprocess.CompletedProcess:
    """`whosthat ARGS` in a process that file permissions apply to: as root (CI), without the capabilities that
    let root read and write whatever it likes (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); as anyone else, as is."""
    command = [sys.executable, "-m", "whosthat.cli", *args]
    if os.geteuid() == 0:
        if SETPRIV is None:
            pytest.skip("running as root without setpriv (util-linux): permissions cannot be made to hold")
        command = [SETPRIV, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture
def other_model(model_file: Path, tmp_path: Path) -> Path:
    """The blackpink model at the next stranger threshold of its curve: another fingerprint, the same detector and
    embedder."""
    model = whosthat.load(model_file)
    calibration = model.recogniser.calibration_
    assert calibration is not None
    model.recogniser.calibration_ = dataclasses.replace(calibration, index=calibration.index - 1 or 1)
    return model.save(tmp_path / "other.wt")


# 1. Ownership: the user's files in an index folder, and model copies.

@pytest.mark.parametrize("theirs", ["models", "faces-table"])
def test_a_folder_with_the_users_models_or_table_is_not_taken_for_a_new_index(
        theirs: str, own_collection: Path, model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    work = tmp_path / "work"
    if theirs == "models":
        (work / "models").mkdir(parents=True)
        shutil.copyfile(model_file, work / "models" / "blackpink.wt")
        (work / "models" / "other.wt").write_bytes(b"the user's other model")
    else:
        import lancedb

        lancedb.connect(str(work)).create_table("faces", data=pa.table({"x": np.arange(1000)}))
    before = files_of(work)
    assert main(["index", str(model_file), str(own_collection), "--index", str(work)]) == 2
    one_error_line(capsys.readouterr().err, str(work), "exists and is not a whosthat index")
    assert files_of(work) == before, "nothing of theirs touched, nothing written"
    if theirs == "faces-table":
        import lancedb

        assert lancedb.connect(str(work)).open_table("faces").count_rows() == 1000


def test_relabelling_deletes_only_the_model_copies_the_index_wrote(own_collection: Path, model_file: Path,
                                                                   other_model: Path, session_cache: Path,
                                                                   tmp_path: Path) -> None:
    folder = tmp_path / "work"
    first = index(model_file, own_collection, index=folder, cache_dir=session_cache).store.labeller.model_file
    theirs = {"models/blackpink.wt": model_file.read_bytes(), "models/other.wt": b"the user's other model"}
    for name, data in theirs.items():
        (folder / name).write_bytes(data)

    second = index(other_model, index=folder, relabel=True, use_cache=False).store.labeller.model_file
    models = {p.relative_to(folder).as_posix() for p in (folder / "models").iterdir()}
    assert models == {*theirs, second}, "the old copy whosthat wrote is gone; the user's files stay"
    assert json.loads((folder / MODELS_RECORD).read_text()).keys() == {second}

    (folder / second).write_bytes(b"the user put something else here")  # no longer what whosthat wrote
    assert index(model_file, index=folder, relabel=True, use_cache=False).store.labeller.model_file == first
    models = {p.relative_to(folder).as_posix() for p in (folder / "models").iterdir()}
    assert models == {*theirs, first, second} and (folder / second).read_bytes().startswith(b"the user")
    assert all((folder / name).read_bytes() == data for name, data in theirs.items())


def test_the_model_name_read_from_an_index_stays_inside_it(tmp_path: Path) -> None:
    manifest = Manifest(str(tmp_path), "pipeline", 16, "now")
    with pytest.raises(UnsafePathError, match="not a name that stays inside"):
        IndexStore.create(tmp_path / "index", manifest, Labeller("f" * 64, "../escaped.wt", "t", ("a",), 0.0, "now"),
                          b"model")
    assert not (tmp_path / "escaped.wt").exists() and not (tmp_path / "index").exists()
    store = IndexStore.create(tmp_path / "index", manifest, Labeller("f" * 64, "models/f.wt", "t", ("a",), 0.0,
                                                                       "now"), b"model")
    store.labeller = dataclasses.replace(store.labeller, model_file="../../etc/passwd")
    with pytest.raises(UnsafePathError):
        store.model_path()


# 4. Symbolic links.

def test_symbolic_links_neither_loop_nor_index_a_photo_twice(own_collection: Path, model_file: Path,
                                                             session_cache: Path, tmp_path: Path) -> None:
    outside = copy_photos(tmp_path / "outside", {"far": stranger_photos({"jerry_seinfeld": 1})["jerry_seinfeld"]})
    (own_collection / "members" / "loop").symlink_to("..")
    (own_collection / "a").symlink_to(".")
    (own_collection / "b").symlink_to(".")
    (own_collection / "group" / "again.jpg").symlink_to(BLACKPINK_GROUP.name)
    (own_collection / "elsewhere").symlink_to(outside)
    (own_collection / "elsewhere-too").symlink_to(outside / "far")
    (own_collection / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    run = cli("index", str(model_file), str(own_collection), "--json", "--cache-dir", str(session_cache),
              timeout=240)  # the walk of `a` and `b` through each other never ended
    report = json.loads(run.stdout)
    assert report["added"] == report["photos"] == GOOD_PHOTOS + len(BROKEN) + 1, report
    names = {r["path"] for r in Index(own_collection).store.photos().to_pylist()}
    assert f"group/{BLACKPINK_GROUP.name}" in names and not any("loop" in n or n.startswith(("a/", "b/"))
                                                                 for n in names)
    assert [n for n in names if "far" in n] == [f"elsewhere/far/{next((outside / 'far').iterdir()).name}"]


# 7. A file name that is not UTF-8.

def test_a_file_name_that_is_not_utf8_is_indexed_under_a_name_that_finds_it(own_collection: Path, model_file: Path,
                                                                           session_cache: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    original = member_photos()["lisa_manoban"][0]
    photo = os.fsencode(own_collection / "members") + b"/caf\xe9.jpg"
    shutil.copyfile(original, photo)
    broken = os.fsencode(own_collection / "broken") + b"/\xff\nnot.jpg"
    open(broken, "wb").close()
    assert main(["index", str(model_file), str(own_collection), "--json", "--cache-dir", str(session_cache)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["added"] == GOOD_PHOTOS + len(BROKEN) + 2 and len(report["unreadable"]) == len(BROKEN) + 1
    assert all("\n" not in line for line in report["unreadable"])
    opened = Index(own_collection)
    labels = opened.store.scan(["label"], "path = 'members/caf\\xe9.jpg'")["label"].to_pylist()
    assert labels and labels == opened.store.scan(["label"], f"path = 'members/lisa_manoban/{original.name}'")[
        "label"].to_pylist(), "the faces of the photo it is a copy of"
    assert os.path.samefile(photo_path(own_collection, "members/caf\\xe9.jpg"), photo)
    again = index(model_file, own_collection, cache_dir=session_cache).last_run
    assert again.added == again.removed == again.changed == 0, "the stored names are the names found again"
    hits = [hit for hit in opened.find(labels[0], limit=None) if hit.name == "members/caf\\xe9.jpg"]
    assert hits and os.path.samefile(hits[0].path, photo), "find gives the real file"
    sorted_into = tmp_path / "sorted"
    opened.sort(sorted_into)
    link = sorted_into / labels[0] / "caf_xe9.jpg"
    assert link.is_symlink() and os.path.samefile(link, photo), "sort links the real file"
    assert opened.sort(sorted_into).made == 0, "its record reads back: nothing made twice"


# 9. A damaged index.

@pytest.mark.parametrize("damage", ["truncated", "data-removed"])
def test_a_damaged_index_is_one_line_saying_so(damage: str, built: Index, model_file: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    folder = Path(shutil.copytree(built.directory, tmp_path / "damaged"))
    for data in folder.glob("*.lance/data"):  # every table of the index
        if damage == "truncated":
            for part in data.iterdir():
                part.write_bytes(part.read_bytes()[:100])
        else:
            shutil.rmtree(data)
    for args in (["find", str(folder)], ["find", str(folder), "--name", "lisa_manoban"],
                 ["index", str(model_file), "--index", str(folder)]):
        assert main(args) == 2, args
        one_error_line(capsys.readouterr().err, str(folder), "damaged", "--index")
    store = IndexStore(folder)
    for read in (lambda: store.nearest(np.ones(128, np.float32), 3, ["path"]), lambda: list(store.batches(["path"])),
                 lambda: store.count("face >= 0"), store.photos):
        with pytest.raises(IndexFileError, match="the index is damaged"):
            read()


# 11, 12. Folders that cannot be written or read.

def test_a_collection_that_cannot_be_written_is_one_line(own_collection: Path, model_file: Path) -> None:
    own_collection.chmod(0o555)
    try:
        run = cli_as_a_user("index", str(model_file), str(own_collection), "--no-cache")
    finally:
        own_collection.chmod(0o755)
    assert run.returncode == 2, run.stderr[-2000:]
    one_error_line(run.stderr, ".whosthat-index", "cannot be written", "--index DIR")


def test_unreadable_folders_keep_their_photos_and_unreadable_photos_are_read_again(
        own_collection: Path, model_file: Path, session_cache: Path) -> None:
    photo = sorted((own_collection / "members" / "jennie_kim").iterdir())[0]
    folder = own_collection / "strangers" / "mindy_kaling"
    args = ("index", str(model_file), str(own_collection), "--json", "--cache-dir", str(session_cache))
    photo.chmod(0)
    try:
        first = cli_as_a_user(*args)
        photo.chmod(0o644)  # given back: its size and mtime are as they were
        folder.chmod(0)
        second = cli_as_a_user(*args)
    finally:
        photo.chmod(0o644)
        folder.chmod(0o755)
    third = cli_as_a_user(*args)

    assert first.returncode == 1, first.stderr[-2000:]
    unread = [line for line in json.loads(first.stdout)["unreadable"] if photo.name in line]
    assert len(unread) == 1 and "permission denied" in unread[0].lower()
    assert second.returncode == 1, "a folder that could not be read fails the run"
    report = json.loads(second.stdout)
    assert report["removed"] == 0 and report["photos"] == json.loads(first.stdout)["photos"]
    assert report["changed"] == 1, "the photo that could not be read is read again"
    assert [line for line in report["unreadable"] if "folder could not be read" in line] == [
        f"{folder}: folder could not be read (permission denied); its photos in the index are kept"]
    assert not any(photo.name in line for line in report["unreadable"])
    assert report["unreadable_folders"] == [folder.relative_to(own_collection).as_posix()]
    report = json.loads(third.stdout)
    assert third.returncode == 0 and report["removed"] == report["changed"] == report["added"] == 0, report
    labels = Index(own_collection).store.scan(["label"], f"path = 'members/jennie_kim/{photo.name}'")["label"]
    assert labels.to_pylist() and None not in labels.to_pylist()


# 13. Two runs on a new index.

def wait_until_open(process: subprocess.Popen, path: Path) -> None:
    """Until `process` has `path` open (Linux: /proc/PID/fd): a run that has the lock file open is past its checks
    and holds the lock, or waits for it."""
    deadline = time.monotonic() + 120
    while True:
        try:
            links = [os.readlink(f"/proc/{process.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{process.pid}/fd")]
        except OSError:  # a descriptor closed while we looked
            links = []
        if str(path) in links:
            return
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.monotonic() < deadline, f"{path} never opened"
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see which process opened the lock")
def test_runs_that_wait_for_the_lock_of_a_new_index_make_it_once_and_update_it(own_collection: Path, model_file: Path,
                                                                               session_cache: Path,
                                                                               tmp_path: Path) -> None:
    folder = tmp_path / "new.index"
    command = [sys.executable, "-m", "whosthat.cli", "index", str(model_file), str(own_collection), "--index",
               str(folder), "--cache-dir", str(session_cache), "--json", "--wait", "240"]
    begin_index(folder)  # as a first run does, before it takes the lock and makes the index
    with IndexLock(folder):
        runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        for run in runs:
            wait_until_open(run, folder / ".lock")  # past its checks (no index yet), waiting for the lock
    reports = []
    for run in runs:
        out, err = run.communicate(timeout=400)
        assert run.returncode in (0, 1), err[-2000:]  # 1: the collection's broken files, when read
        reports.append(json.loads(out))
    made, updated = sorted(reports, key=lambda r: -r["added"])
    assert made["added"] == made["photos"] == GOOD_PHOTOS + len(BROKEN), "one run made the index"
    assert updated["added"] == 0 and updated["unchanged"] == made["photos"], "the other one found it made"
