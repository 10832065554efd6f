"""A format-1 index (`tests/data/index-format1`, made by the format-1 code; what it holds is in
`index-format1.json`) opened by this whosthat: upgraded in place once, with every photo and face kept, and the same
answers to find and summary; an upgrade stopped midway is finished by the next open."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from whosthat.collection import Index
from whosthat.collection.find import find_like
from whosthat.collection.migrate import OLD
from whosthat.collection.rows import matrix
from whosthat.collection.schema import FORMAT_VERSION, MANIFEST

DATA = Path(__file__).parents[1] / "data"
FORMAT_1 = DATA / "index-format1"
HOLDS = json.loads((DATA / "index-format1.json").read_text())


def files_of(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def hits(found: list) -> list[dict]:
    return [{k: v for k, v in hit.to_dict().items() if k != "path"} for hit in found]


def check_kept(opened: Index) -> None:
    """Every photo and face of the format-1 index, and the same answers."""
    assert json.loads((opened.directory / MANIFEST).read_text())["format_version"] == FORMAT_VERSION
    assert not (opened.directory / OLD).exists() and opened.store.tables() == ["faces", "photos"]
    photos = sorted(opened.store.photos().to_pylist(), key=lambda p: p["path"])
    assert photos == HOLDS["photos"]
    faces = opened.store.scan(["path", "face", "box", "label", "confidence", "vector"])
    order = sorted(range(faces.num_rows), key=lambda i: (faces["path"][i].as_py(), faces["face"][i].as_py()))
    faces = faces.take(order)
    expected = HOLDS["faces"]
    assert [(r["path"], r["face"], r["label"]) for r in faces.select(["path", "face", "label"]).to_pylist()] == \
        [(f["path"], f["face"], f["label"]) for f in expected]
    np.testing.assert_allclose(matrix(faces["box"], 4), [f["box"] for f in expected], atol=1e-6)
    np.testing.assert_allclose(matrix(faces["vector"], opened.store.manifest.dim), [f["vector"] for f in expected],
                               atol=1e-6)
    np.testing.assert_allclose(faces["confidence"].to_numpy(), [f["confidence"] for f in expected], atol=1e-6)
    summary = opened.summary().to_dict()
    summary.pop("index")
    assert summary == HOLDS["summary"]
    assert hits(opened.find("madonna")) == HOLDS["find"]["madonna"]
    assert hits(opened.find("unknown")) == HOLDS["find"]["unknown"]
    assert hits(opened.find(unsure=True, below=0.97)) == HOLDS["find"]["unsure_below_0.97"]
    like = HOLDS["find"]["like_madonna_1"]
    vector = next(f["vector"] for f in expected if f["path"] == like["path"] and f["face"] == like["face"])
    assert hits(find_like(opened.store, np.array(vector, np.float32), 5)) == like["hits"]


def test_a_format_1_index_is_upgraded_once_keeping_every_photo_and_face(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(FORMAT_1, tmp_path / "index"))
    assert json.loads((folder / MANIFEST).read_text())["format_version"] == 1
    check_kept(Index(folder))
    before = files_of(folder)
    check_kept(Index(folder))
    assert files_of(folder) == before, "a second open writes nothing"


@pytest.mark.parametrize("stopped", ["after-the-rename", "before-the-manifest", "before-the-old-table-goes"])
def test_an_upgrade_stopped_midway_is_finished_by_the_next_open(stopped: str, tmp_path: Path) -> None:
    done = Path(shutil.copytree(FORMAT_1, tmp_path / "done"))
    Index(done)
    folder = Path(shutil.copytree(FORMAT_1, tmp_path / "index"))
    os.rename(folder / "faces.lance", folder / OLD)
    if stopped != "after-the-rename":
        for table in ("faces.lance", "photos.lance"):
            shutil.copytree(done / table, folder / table)
        (folder / "photos.lance" / "data").mkdir(exist_ok=True)
    if stopped == "before-the-old-table-goes":
        shutil.copyfile(done / MANIFEST, folder / MANIFEST)
    check_kept(Index(folder))
