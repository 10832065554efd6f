"""`whosthat.core.paths`: names read from files kept inside their folder, fitted to the file system, printed on one
line; places that cannot be written said in one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from whosthat.core.files import write_atomically
from whosthat.core.paths import UnsafePathError, UnwritableError, fit_name, folder_name, inside, printable, writing


@pytest.mark.parametrize("name", ["/etc/passwd", "../x", "a/../../x", "a/./b", ".", "", "a//b", "a/", "a\\b", "a\0b"])
def test_inside_refuses_names_that_leave_or_blur_the_folder(name: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="not a name that stays inside"):
        inside(tmp_path, name)


def test_inside_joins_plain_names(tmp_path: Path) -> None:
    assert inside(tmp_path, "jisoo_kim/a b.jpg") == tmp_path / "jisoo_kim" / "a b.jpg"


@pytest.mark.parametrize("name", ["a/b", ".whosthat-sort.json", ".hidden", "..", ""])
def test_folder_name_refuses_paths_and_hidden_names(name: str) -> None:
    with pytest.raises(UnsafePathError):
        folder_name(name)


def test_a_fitted_name_can_be_written_atomically(tmp_path: Path) -> None:
    long = "m" * 300 + ".jpg"
    fitted = fit_name(long)
    assert fitted != long and fitted.endswith(".jpg") and fitted == fit_name(long) != fit_name("n" + long[1:])
    write_atomically(tmp_path / fitted, b"a crop")
    assert (tmp_path / fitted).read_bytes() == b"a crop"
    korean = "제니" * 100 + ".jpg"
    assert len(os.fsencode(fit_name(korean))) <= 255 and fit_name("short.jpg") == "short.jpg"


def test_printable_escapes_control_characters() -> None:
    assert printable("new\nline\x1b[31m.jpg") == "new\\nline\\x1b[31m.jpg" and printable("제니 ok.jpg") == "제니 ok.jpg"
    assert "\n" not in printable(os.fsdecode(b"bad\xff\n.jpg"))


def test_writing_says_what_and_where_in_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    with pytest.raises(UnwritableError, match=r"a_file/sub: cannot write the crops \(a file is where a folder must"):
        with writing(tmp_path, "the crops"):
            (a_file / "sub").mkdir(parents=True)
    with pytest.raises(UnwritableError, match=r"folder: cannot write the page \(a folder is where a file must be\)"):
        with writing(tmp_path, "the page"):
            (tmp_path / "folder").mkdir()
            open(tmp_path / "folder", "wb")
