"""`whosthat.core.files`: every file written whole or not at all, with a new file's permissions, under any name."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from whosthat.core.files import copy_atomically, is_temporary, replacing, write_atomically
from whosthat.core.paths import NAME_MAX, UnwritableError, writing


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if is_temporary(p.name)]


def test_a_file_gets_a_new_files_permissions_not_mkstemps(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "report.html", "<p>é</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 and path.read_text(encoding="utf-8") == "<p>é</p>"


def test_an_error_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = write_atomically(tmp_path / "model.wt", b"the old model")
    with pytest.raises(RuntimeError), replacing(path) as temporary:
        temporary.write_bytes(b"half a new")
        raise RuntimeError("stopped")
    assert path.read_bytes() == b"the old model" and leftovers(tmp_path) == []


def test_a_name_as_long_as_the_file_system_takes_is_written(tmp_path: Path) -> None:
    name = "n" * (NAME_MAX - 4) + ".jpg"
    copy_atomically(write_atomically(tmp_path / "a.jpg", b"jpeg"), tmp_path / name)
    assert (tmp_path / name).read_bytes() == b"jpeg" and leftovers(tmp_path) == []


def test_a_folder_in_the_way_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "out.html").mkdir()
    with pytest.raises(UnwritableError, match=r"out.html: cannot write the page \(a folder is where a file must be\)"):
        with writing(tmp_path / "out.html", "the page"):
            write_atomically(tmp_path / "out.html", "x")
    assert leftovers(tmp_path) == []


def test_a_file_that_is_not_ours_is_left_as_it_is(tmp_path: Path) -> None:
    from whosthat.core.files import NotOursError

    theirs = write_atomically(tmp_path / "page.html", "<p>mine</p>")
    with pytest.raises(NotOursError, match="page.html: a file whosthat did not write is there"):
        write_atomically(theirs, "<p>whosthat's</p>", ours=lambda path: "whosthat" in path.read_text())
    assert theirs.read_text() == "<p>mine</p>" and leftovers(tmp_path) == []
    write_atomically(theirs, "<p>whosthat's</p>", ours=lambda path: True)
    assert write_atomically(theirs, "<p>whosthat's again</p>", ours=lambda path: "whosthat" in path.read_text())
