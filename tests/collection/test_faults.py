"""Faults while indexing: a run killed with SIGKILL, and a disk that fills up. Nothing is lost but the batch in flight;
the index stays readable at its last complete state."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from whosthat.collection import Index, index
from whosthat.collection.store import IndexStore

KILL_BATCH = 2


def rows(opened: Index) -> list[tuple]:
    table = opened.store.scan(["path", "face", "label"]).to_pylist()
    return sorted((r["path"], r["face"], r["label"]) for r in table)


def committed_photos(folder: Path) -> int:
    """Photos the index holds now (as another process sees it), 0 before it exists."""
    try:
        return IndexStore(folder).count_photos()
    except Exception:  # not created yet, or the table is being made
        return 0


def test_kill_9_loses_at_most_the_batch_in_flight(own_collection: Path, model_file: Path, built: Index,
                                                 tmp_path: Path) -> None:
    folder = tmp_path / "killed.index"
    process = subprocess.Popen([sys.executable, "-m", "whosthat.cli", "index", str(model_file), str(own_collection),
                                "--index", str(folder), "--batch", str(KILL_BATCH), "--no-cache", "--json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while committed_photos(folder) < KILL_BATCH:
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no batch was committed"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    done = committed_photos(folder)
    total = built.last_run.photos
    assert KILL_BATCH <= done < total and done % KILL_BATCH == 0, "whole batches only"

    resumed = index(model_file, own_collection, index=folder, use_cache=False)
    run = resumed.last_run
    assert run.added == total - done and run.unchanged == done, "the next run continues where the killed one was"
    assert rows(resumed) == rows(built), "the same index as a run that was never stopped"


UNSHARE = shutil.which("unshare")

FILL_THE_DISK = textwrap.dedent("""
    import shutil, sys
    from pathlib import Path
    from whosthat.collection import Index, index
    from whosthat.core.errors import WhosthatError
    model, photos, more, folder = map(Path, sys.argv[1:5])
    first = index(model, photos, index=folder)  # the cache ($WHOSTHAT_CACHE_DIR) is not on the small disk
    before = sorted(map(str, first.store.scan(["path", "face", "label"]).to_pylist()))
    filler = folder.parent / "filler"
    with open(filler, "wb") as stream:  # take every free byte of the small file system
        try:
            while True:
                stream.write(b"\\0" * 65536)
                stream.flush()
        except OSError:
            pass
    shutil.copytree(more, photos / "more")
    try:
        index(model, photos, index=folder)
        print("NO ERROR")
    except WhosthatError as error:
        print("ERROR", error)
    after = Index(folder)
    print("SAME", sorted(map(str, after.store.scan(["path", "face", "label"]).to_pylist())) == before)
    filler.unlink()
    grown = index(model, photos, index=folder).last_run
    print("GROWN", grown.added, grown.photos)
""")


@pytest.mark.skipif(UNSHARE is None, reason="needs unshare (util-linux) to mount a small file system")
def test_a_full_disk_leaves_the_index_readable_at_its_last_state(own_collection: Path, model_file: Path,
                                                                  tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    photos = tmp_path / "few"
    shutil.copytree(own_collection / "members", photos / "members")
    more = own_collection / "strangers"
    script = tmp_path / "fill.py"
    script.write_text(FILL_THE_DISK)
    mounted = subprocess.run([UNSHARE, "-rm", "sh", "-c", f"mount -t tmpfs -o size=4m tmpfs {small} && "
                              f"{sys.executable} {script} {model_file} {photos} {more} {small / 'index'}"],
                             capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if "mount" in mounted.stderr and "ERROR" not in mounted.stdout:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()[:200]}")
    assert mounted.returncode == 0, mounted.stderr[-3000:]
    lines = dict(line.split(" ", 1) for line in mounted.stdout.splitlines())
    assert "no space left on the device" in lines["ERROR"] and "last complete state" in lines["ERROR"], lines
    assert lines["SAME"] == "True"
    added, photos_now = map(int, lines["GROWN"].split())
    assert added == 10 and photos_now == 22
