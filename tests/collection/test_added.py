"""Naming a face the detector missed (`Index.add_face`, `whosthat label --box`): on a real index of a photo where
a small real face was pasted, too small for the detector at the index's settings, and the group photo."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from conftest import BLACKPINK, BLACKPINK_GROUP, BLACKPINK_TRAIN_PER_CLASS, images_of, require
from whosthat.cli.main import main
from whosthat.collection import Index, index
from whosthat.collection.corrections import CONFIRM
from whosthat.collection.store import IndexStore, sql_text
from whosthat.core.errors import WhosthatError
from whosthat.vision.detectors.yunet import YuNet
from whosthat.vision.images import load_image

PASTED = "pasted.jpg"
GROUP = f"group/{BLACKPINK_GROUP.name}"
#: The pasted face's width in pixels: the detector misses a face this small in a photo this large.
SIDE = 16


def paste_small_face(out: Path) -> tuple[int, int, int, int]:
    """A photo of lisa_manoban with a real face of jennie_kim pasted SIDE px wide in its lower left corner, saved
    at `out`; the pasted face's box (x, y, w, h)."""
    source = load_image(images_of(BLACKPINK / "jennie_kim")[BLACKPINK_TRAIN_PER_CLASS])
    x1, y1, x2, y2 = max(YuNet().detect(source), key=lambda f: f.area).box
    face = Image.fromarray(source).crop((int(x1), int(y1), int(x2), int(y2)))
    face = face.resize((SIDE, round(SIDE * face.height / face.width)), Image.LANCZOS)
    background = Image.open(images_of(BLACKPINK / "lisa_manoban")[BLACKPINK_TRAIN_PER_CLASS]).convert("RGB")
    corner = (20, background.height - 60)
    background.paste(face, corner)
    background.save(out, quality=95)
    return corner[0], corner[1], face.width, face.height


@pytest.fixture(scope="module")
def pristine(model_file: Path, session_cache: Path, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, tuple[int, int, int, int]]:
    """The index of the pasted photo and the group photo, and the pasted face's box."""
    require(BLACKPINK)
    root = tmp_path_factory.mktemp("added")
    (root / "photos" / "group").mkdir(parents=True)
    shutil.copyfile(BLACKPINK_GROUP, root / "photos" / GROUP)
    box = paste_small_face(root / "photos" / PASTED)
    return index(model_file, root / "photos", index=root / "index", cache_dir=session_cache).directory, box


@pytest.fixture
def opened(pristine: tuple[Path, tuple[int, int, int, int]], tmp_path: Path) -> Index:
    return Index(shutil.copytree(pristine[0], tmp_path / "index"))


def faces_of(opened: Index, path: str) -> list[dict]:
    rows = opened.store.scan(["face", "box", "vector", "label"], f"path = {sql_text(path)}").sort_by("face")
    return rows.to_pylist()


def test_a_missed_face_is_added_named_and_learned(opened: Index, pristine: tuple, tmp_path: Path) -> None:
    before = faces_of(opened, PASTED)
    assert len(before) == 1, "the detector was to miss the pasted face"
    added = opened.add_face(PASTED, pristine[1], "jennie_kim")
    assert added.face == 1 and added.path == PASTED
    assert added.correction.kind == CONFIRM and added.correction.name == "jennie_kim"
    after = faces_of(opened, PASTED)
    assert [f["face"] for f in after] == [0, 1]
    assert after[0] == before[0]
    assert np.linalg.norm(after[1]["vector"]) == pytest.approx(1.0, abs=1e-3)
    x, y, w, h = pristine[1]
    cx, cy = (added.box[0] + added.box[2]) / 2, (added.box[1] + added.box[3]) / 2
    assert x <= cx <= x + w and y <= cy <= y + h
    assert opened.store.photos(["faces"], f"path = {sql_text(PASTED)}")["faces"].to_pylist() == [2]
    assert PASTED in [hit.name for hit in opened.find(name="jennie_kim", limit=0)]
    report = opened.learn(tmp_path / "learned.wt")
    assert report.confirmed.get("jennie_kim") == 1


def test_a_box_over_a_face_or_out_of_place_is_refused(opened: Index) -> None:
    group = faces_of(opened, GROUP)
    x1, y1, x2, y2 = group[1]["box"]
    with pytest.raises(WhosthatError, match="that face is already face 1; correct it instead"):
        opened.add_face(GROUP, (x1 + 2, y1 + 2, x2 - x1, y2 - y1), "jisoo_kim")
    for box, said in [((10, 10, 3, 3), "too small"), ((5000, 10, 40, 40), "outside the photo"),
                      ((10, 10, 400, 20), "long and thin"), ((float("nan"), 1, 40, 40), "finite")]:
        with pytest.raises(WhosthatError, match=said):
            opened.add_face(GROUP, box, "jisoo_kim")
    with pytest.raises(WhosthatError, match="no such photo"):
        opened.add_face("gone.jpg", (10, 10, 40, 40), "jisoo_kim")
    with pytest.raises(WhosthatError, match="not a name|name"):
        opened.add_face(GROUP, (10, 10, 40, 40), "")
    assert faces_of(opened, GROUP) == group and not opened.corrections()


def test_label_box_on_the_command_line(opened: Index, pristine: tuple, capsys: pytest.CaptureFixture) -> None:
    x, y, w, h = pristine[1]
    assert main(["label", str(opened.directory), PASTED, "jennie_kim", "--box", f"{x},{y},{w},{h}"]) == 0
    assert "added: face 1 of pasted.jpg" in capsys.readouterr().out
    assert len(faces_of(Index(opened.directory), PASTED)) == 2
    assert main(["label", str(opened.directory), PASTED, "jennie_kim", "--box", "1,2,3"]) != 0
    assert "X,Y,W,H" in capsys.readouterr().err


def test_a_run_stopped_between_the_faces_and_the_photos_row_is_cleaned(opened: Index, pristine: tuple,
                                                                       model_file: Path, session_cache: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def faces_only(store: IndexStore, photos: pa.Table, faces: pa.Table) -> None:
        store.table.add(faces.cast(store.table.schema))
        raise KeyboardInterrupt

    monkeypatch.setattr(IndexStore, "append", faces_only)
    with pytest.raises(KeyboardInterrupt):
        opened.add_face(PASTED, pristine[1], "jennie_kim")
    monkeypatch.undo()
    stopped = Index(opened.directory)
    assert faces_of(stopped, PASTED) == [] and stopped.store.count() == 1 + len(faces_of(stopped, GROUP)) + 1
    again = index(model_file, index=opened.directory, cache_dir=session_cache)
    assert len(faces_of(again, PASTED)) == 1 and again.store.count() == again.summary().faces
    assert again.add_face(PASTED, pristine[1], "jennie_kim").face == 1
