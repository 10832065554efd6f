"""`whosthat.core.walk`: one walk of a folder tree, the rules every photo search follows."""

from __future__ import annotations

import os
from pathlib import Path

from whosthat.core.walk import walk


def test_hidden_entries_are_left_out_or_listed_apart_and_links_do_not_loop(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.jpg").write_bytes(b"1")
    (tmp_path / ".thumbs").mkdir()
    (tmp_path / ".thumbs" / "2.jpg").write_bytes(b"2")
    (tmp_path / ".DS_Store").write_bytes(b"")
    (tmp_path / "a" / "loop").symlink_to("..")
    (tmp_path / "again.jpg").symlink_to(tmp_path / "a" / "1.jpg")
    assert [f.name for f in walk(tmp_path).files] == ["a/1.jpg"]
    found = walk(tmp_path, hidden=True)
    assert [f.name for f in found.files] == ["a/1.jpg"] and [f.name for f in found.hidden] == [".DS_Store",
                                                                                                ".thumbs/2.jpg"]


def test_a_name_not_accepted_never_hides_another_name_of_the_file(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    os.link(tmp_path / "photo.jpg", tmp_path / "a-notes")  # sorted first, the same inode
    found = walk(tmp_path, accept=lambda path: path.suffix == ".jpg")
    assert [f.name for f in found.files] == ["photo.jpg"]


def test_a_folder_that_cannot_be_listed_is_reported(tmp_path: Path) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")
    (tmp_path / "file.jpg").write_bytes(b"x")
    found = walk(tmp_path / "file.jpg")
    assert found.files == [] and [u.name for u in found.unreadable] == [""]
    assert walk(tmp_path).unreadable == []
