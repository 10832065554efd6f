"""whosthat replaces only files it wrote: a user's file where a model, a report, a contact sheet or an annotated
photo is to be written is left as it is, with one line saying so; whosthat's own files are replaced."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import BLACKPINK_GROUP, require
from whosthat.cli import main
from whosthat.core.files import NotOursError
from whosthat.models.model import Model


@pytest.fixture(scope="module")
def model_file(blackpink_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return blackpink_model.save(tmp_path_factory.mktemp("ownership") / "blackpink.wt")


def last_error(capsys: pytest.CaptureFixture) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_users_file_is_never_replaced_by_a_model(blackpink_model: Model, tmp_path: Path) -> None:
    notes = tmp_path / "notes.wt"
    notes.write_text("my notes")
    with pytest.raises(NotOursError, match="notes.wt: a file whosthat did not write"):
        blackpink_model.save(notes)
    assert notes.read_text() == "my notes"
    ours = blackpink_model.save(tmp_path / "model.wt")
    assert blackpink_model.save(ours) == ours, "a model file whosthat wrote is replaced"


def test_a_users_page_is_never_replaced_by_a_report(model_file: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    page = tmp_path / "index.html"
    page.write_text("<html>my page</html>")
    assert main(["report", str(model_file), "--out", str(page)]) == 2
    assert "a file whosthat did not write is there" in last_error(capsys)
    assert page.read_text() == "<html>my page</html>"
    report = tmp_path / "report.html"
    assert main(["report", str(model_file), "--out", str(report)]) == 0
    first = report.stat().st_mtime_ns
    assert main(["report", str(model_file), "--out", str(report)]) == 0, "its own report is replaced"
    assert report.stat().st_mtime_ns >= first and "whosthat" in report.read_text()


def test_a_users_photo_is_never_replaced_by_an_annotated_one(model_file: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    photo = tmp_path / "photos" / require(BLACKPINK_GROUP).name
    photo.parent.mkdir()
    shutil.copyfile(BLACKPINK_GROUP, photo)
    annotated = tmp_path / "annotated"
    annotated.mkdir()
    theirs = annotated / f"{photo.stem}.jpg"
    shutil.copyfile(BLACKPINK_GROUP, theirs)
    assert main(["predict", str(model_file), str(photo), "--annotate", str(annotated), "--json"]) == 2
    assert "a file whosthat did not write is there" in last_error(capsys)
    assert theirs.read_bytes() == BLACKPINK_GROUP.read_bytes()
    theirs.unlink()
    assert main(["predict", str(model_file), str(photo), "--annotate", str(annotated), "--json"]) == 0
    assert main(["predict", str(model_file), str(photo), "--annotate", str(annotated), "--json"]) == 0
    assert theirs.read_bytes() != BLACKPINK_GROUP.read_bytes(), "its own annotated photo is replaced"
