"""`whosthat find` under hostile input: probabilities that are no probabilities, negative limits, a contact sheet
where a folder is, and photo names with a newline: refused in one line or printed on one."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from collection.photos import stranger_photos
from conftest import BLACKPINK_GROUP
from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.core.errors import WhosthatError


@pytest.mark.parametrize("below", ["nan", "inf", "-inf", "-0.1", "1.5", "half"])
def test_find_below_must_be_a_probability(built: Index, below: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_status:
        main(["find", str(built.directory), "--unsure", f"--below={below}"])
    err = capsys.readouterr().err
    assert exit_status.value.code == 2 and ("not a probability" in err or "not a number" in err), err


@pytest.mark.parametrize("below", [math.nan, math.inf, -math.inf])
def test_the_api_refuses_a_probability_that_is_no_number(built: Index, below: float) -> None:
    with pytest.raises(WhosthatError, match="not a finite number"):
        built.find(unsure=True, below=below)


def test_negative_limits_are_refused_and_zero_is_all(built: Index, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["find", str(built.directory), "--name", "unknown", "--limit=-2"])
    assert "negative" in capsys.readouterr().err
    with pytest.raises(WhosthatError, match="limit -2"):
        built.find("unknown", limit=-2)
    with pytest.raises(WhosthatError, match="limit -1"):
        built.find(unsure=True, limit=-1)
    everything = built.find("unknown", limit=None)
    assert len(everything) > 2 and built.find("unknown", limit=0) == everything


def test_a_contact_sheet_where_a_folder_is_is_one_line(built: Index, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    for sheet in (tmp_path, tmp_path / "a_file" / "sheet.html"):
        (tmp_path / "a_file").write_text("")
        assert main(["find", str(built.directory), "--name", "jennie_kim", "--html", str(sheet)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("whosthat: error: ") and "cannot write the contact sheet" in err[-1], err


def test_names_with_a_newline_are_printed_on_one_line(model_file: Path, session_cache: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copyfile(BLACKPINK_GROUP, photos / "new\nline.jpg")
    for n, photo in enumerate(stranger_photos({"ben_afflek": 5})["ben_afflek"]):
        shutil.copyfile(photo, photos / f"ben\n{n}.jpg")
    opened = index(model_file, photos, index=tmp_path / "index", cache_dir=session_cache)
    capsys.readouterr()
    assert main(["find", str(opened.directory), "--name", "jennie_kim"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and "  new\\nline.jpg  (jennie_kim " in lines[0], lines
    assert main(["people", str(opened.directory), "--min-faces", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ben\\n0.jpg" in "".join(lines) and all(line.startswith("  person_") for line in lines[1:]), lines
