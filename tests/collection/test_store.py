"""The index store on its own: a table past the ANN threshold gets its vector and scalar indexes and still finds
the nearest faces; a folder is refused as a new index when it holds anything of the user's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from whosthat.collection import store as store_module
from whosthat.collection.schema import IndexFileError, Labeller, Manifest
from whosthat.collection.store import IndexStore, check_new_folder

DIM = 16


def rows(vectors: np.ndarray, store: IndexStore, prefix: str = "p") -> tuple[pa.Table, pa.Table]:
    """A photo with one face per vector: its photos rows and its faces rows."""
    faces = [{"path": f"{prefix}{i}.jpg", "content_hash": f"{i:064x}", "size": 1, "mtime_ns": 1, "face": 0, "faces": 1,
              "box": [0.0, 0.0, 1.0, 1.0], "landmarks": None, "detection_score": 1.0, "vector": v.tolist(),
              "label": "a" if i % 2 else "unknown", "confidence": 0.9, "probabilities": [0.9], "error": None}
             for i, v in enumerate(vectors)]
    return (pa.Table.from_pylist(faces, schema=store.photo_table.schema),
            pa.Table.from_pylist(faces, schema=store.table.schema))


def test_a_large_table_gets_an_ann_index_and_finds_its_nearest(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "ANN_MIN_ROWS", 2000)
    labeller = Labeller("f" * 64, "models/x.wt", "test", ("a",), 0.0, "now")
    opened = IndexStore.create(tmp_path / "index", Manifest(str(tmp_path), "pipeline", DIM, "now"), labeller, b"m")
    vectors = np.random.default_rng(0).standard_normal((3000, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    opened.append(*rows(vectors[:1500], opened))
    opened.tidy()
    assert not opened._has_vector_index(), "below the threshold: exact search"
    opened.append(*rows(vectors[1500:], opened, prefix="q"))
    opened.tidy()
    kinds = {i.index_type for i in IndexStore(tmp_path / "index").table.list_indices()}
    assert {"IvfPq", "Bitmap", "BTree"} <= kinds
    found = opened.nearest(vectors[2500], 5, ["path"]).to_pylist()
    assert found[0]["path"] == "q1000.jpg" and found[0]["_distance"] == pytest.approx(0.0, abs=0.05)
    assert opened.count("label = 'a'") == 1500


def test_a_folder_with_the_users_files_is_not_made_an_index(tmp_path: Path) -> None:
    check_new_folder(tmp_path / "new")
    check_new_folder(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(IndexFileError, match="exists and is not a whosthat index"):
        check_new_folder(tmp_path)


def test_faces_without_their_photos_row_are_not_read_and_a_writer_deletes_them(tmp_path: Path) -> None:
    labeller = Labeller("f" * 64, "models/x.wt", "test", ("a",), 0.0, "now")
    opened = IndexStore.create(tmp_path / "index", Manifest(str(tmp_path), "pipeline", DIM, "now"), labeller, b"m")
    vectors = np.eye(DIM, dtype=np.float32)[:4]
    photos, faces = rows(vectors, opened)
    opened.append(photos.slice(0, 2), faces)  # as a run stopped between the faces' commit and the photos'
    assert sorted(opened.scan(["path"])["path"].to_pylist()) == ["p0.jpg", "p1.jpg"]
    assert [r["path"] for r in opened.nearest(vectors[3], 4, ["path"]).to_pylist()] in (["p0.jpg", "p1.jpg"],
                                                                                          ["p1.jpg", "p0.jpg"])
    assert opened.count() == 4
    opened.clean()
    assert opened.count() == 2 and opened.scan(["path", "faces"]).to_pylist() == [
        {"path": "p0.jpg", "faces": 1}, {"path": "p1.jpg", "faces": 1}]
