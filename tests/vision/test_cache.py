"""The SQLite cache: a second training re-embeds nothing, moved photos stay cached, another embedder re-detects
nothing, concurrent writers are safe."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import whosthat
from conftest import KPOP15, images_of
from whosthat.cli import main
from whosthat.vision.cache import EmbeddingCache, content_hash
from whosthat.vision.detectors.yunet import YuNet
from whosthat.vision.embedders.facenet import FaceNet
from whosthat.vision.face import Face


@pytest.fixture
def embed_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the faces FaceNet embeds (instrumentation: the real `embed` still runs)."""
    calls: list[int] = []
    real = FaceNet.embed

    def counting(self, chips):
        calls.append(len(chips))
        return real(self, chips)

    monkeypatch.setattr(FaceNet, "embed", counting)
    return calls


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory):
    """Two kpop15 members, 6 photos each (real copies), trained once into a fresh cache.

    Returns (photos folder, cache folder, model, faces embedded by that first training).
    """
    root = tmp_path_factory.mktemp("cache-photos") / "photos"
    for name in ["Irene", "Seulgi"]:
        (root / name).mkdir(parents=True)
        for path in images_of(KPOP15 / name)[:6]:
            shutil.copy(path, root / name / path.name)
    cache = tmp_path_factory.mktemp("fresh-cache")
    calls: list[int] = []
    real = FaceNet.embed
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FaceNet, "embed", lambda self, chips: calls.append(len(chips)) or real(self, chips))
        model = whosthat.train(root, embedder="facenet", cache_dir=cache, test_fraction=0.0)
    return root, cache, model, sum(calls)


def _copy_photos(source: Path, target: Path, rename: bool = False) -> Path:
    for n, path in enumerate(sorted(source.rglob("*.jpg"))):
        name = f"renamed_{n}.JPG" if rename else path.name
        (target / path.parent.name).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.parent.name / name)
    return target


def test_first_training_embeds_every_photo(warm):
    _, _, _, embedded = warm
    assert embedded >= 11, f"the first training embedded only {embedded} faces of 12 photos"


def test_second_training_embeds_nothing(warm, embed_calls: list[int]):
    photos, cache, first, _ = warm
    second = whosthat.train(photos, embedder="facenet", cache_dir=cache, test_fraction=0.0)
    assert sum(embed_calls) == 0, f"the second training embedded {sum(embed_calls)} faces again"
    np.testing.assert_array_equal(first.reference.X, second.reference.X)


def test_moved_and_renamed_photos_stay_cached(warm, tmp_path: Path, embed_calls: list[int]):
    photos, cache, _, _ = warm
    moved = _copy_photos(photos, tmp_path / "elsewhere" / "my photos", rename=True)
    whosthat.train(moved, embedder="facenet", cache_dir=cache, test_fraction=0.0)
    assert sum(embed_calls) == 0, "photos copied under new names were embedded again"


def test_another_embedder_reuses_the_faces_found(warm, monkeypatch: pytest.MonkeyPatch):
    """dlib after FaceNet on the same photos: YuNet runs on none of them (instrumented: the real one runs)."""
    root, cache, first, _ = warm
    detected: list[int] = []
    real = YuNet.detect
    monkeypatch.setattr(YuNet, "detect", lambda self, image: detected.append(1) or real(self, image))
    model = whosthat.train(root, embedder="dlib", cache_dir=cache, test_fraction=0.0)
    assert detected == []
    assert model.embedder.name == "dlib" and len(model.reference.X) == len(first.reference.X)


def test_changed_photo_is_embedded_again(warm, tmp_path: Path, embed_calls: list[int]):
    photos, cache, _, _ = warm
    changed = _copy_photos(photos, tmp_path / "changed")
    photo = sorted((changed / "Irene").iterdir())[0]
    with photo.open("ab") as handle:  # other bytes, same picture
        handle.write(b"\0")
    whosthat.train(changed, embedder="facenet", cache_dir=cache, test_fraction=0.0)
    assert sum(embed_calls) == 1


def test_no_cache_embeds_again(warm, embed_calls: list[int]):
    photos, _, _, embedded = warm
    whosthat.train(photos, embedder="facenet", use_cache=False, test_fraction=0.0)
    assert sum(embed_calls) == embedded


def test_cli_cache_dir_option(warm, tmp_path: Path, capsys, embed_calls: list[int]):
    """--cache-dir is where the cache is read and written: a copy of the warm cache serves every photo."""
    photos, cache, _, _ = warm
    moved_cache = tmp_path / "moved cache"
    shutil.copytree(cache, moved_cache)
    assert main(["train", str(photos), "--embedder", "facenet", "--out", str(tmp_path / "m.wt"),
                 "--test-fraction", "0", "--cache-dir", str(moved_cache)]) == 0
    capsys.readouterr()
    assert sum(embed_calls) == 0, "--cache-dir was not used"
    assert (tmp_path / "m.wt").is_file()


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"XDG_CACHE_HOME": "{tmp}/xdg"}, "{tmp}/xdg/whosthat"),
     ({"XDG_CACHE_HOME": "{tmp}/xdg", "WHOSTHAT_CACHE_DIR": "{tmp}/mine"}, "{tmp}/mine")],
)
def test_default_cache_dir_honours_the_environment(tmp_path: Path, env: dict, expected: str):
    environment = {k: v for k, v in os.environ.items() if k not in ("WHOSTHAT_CACHE_DIR", "XDG_CACHE_HOME")}
    environment.update({k: v.format(tmp=tmp_path) for k, v in env.items()})
    out = subprocess.run([sys.executable, "-c", "from whosthat.vision.cache import default_cache_dir; "
                          "print(default_cache_dir())"], env=environment, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == Path(expected.format(tmp=tmp_path))


def _entry(seed: int, n_faces: int) -> tuple[list[Face], np.ndarray]:
    rng = np.random.default_rng(seed)
    faces = [Face(box=rng.random(4) * 100, landmarks=rng.random((5, 2)) * 100, score=rng.random())
             for _ in range(n_faces)]
    return faces, rng.random((n_faces, 128)).astype(np.float32)


def test_faces_round_trip_per_detector_and_an_older_cache_gains_the_table(tmp_path: Path):
    with sqlite3.connect(tmp_path / "embeddings.sqlite3") as db:  # a cache written before detections were kept
        db.execute("CREATE TABLE subjects (image TEXT NOT NULL, pipeline TEXT NOT NULL, faces BLOB NOT NULL, "
                   "embeddings BLOB NOT NULL, dim INTEGER NOT NULL, PRIMARY KEY (image, pipeline))")
    cache = EmbeddingCache(tmp_path)
    face = Face(box=np.array([1, 2, 30, 40]), landmarks=np.arange(10).reshape(5, 2), score=0.8)
    assert cache.get_faces("abc", "yunet@1") is None
    cache.put_faces("abc", "yunet@1", [face])
    cache.put_faces("abd", "yunet@1", [])
    (found,) = cache.get_faces("abc", "yunet@1")
    np.testing.assert_array_equal(found.to_array(), face.to_array())
    assert cache.get_faces("abd", "yunet@1") == [] and cache.get_faces("abc", "yunet@2") is None
    cache.close()


def test_round_trip_and_pipeline_identity(tmp_path: Path):
    cache = EmbeddingCache(tmp_path)
    key = content_hash(b"photo bytes")
    faces, vectors = _entry(0, 3)
    cache.put(key, "yunet|facenet", faces, vectors)
    cache.put(content_hash(b"no face"), "yunet|facenet", [], np.zeros((0, 128), np.float32))
    got_faces, got_vectors = cache.get(key, "yunet|facenet")
    np.testing.assert_array_equal(got_vectors, vectors)
    for a, b in zip(faces, got_faces):
        np.testing.assert_array_equal(a.to_array(), b.to_array())
    assert cache.get(key, "yunet|dlib") is None, "another pipeline must not see these embeddings"
    empty_faces, empty_vectors = cache.get(content_hash(b"no face"), "yunet|facenet")
    assert empty_faces == [] and empty_vectors.shape == (0, 128)
    cache.close()
    reopened = EmbeddingCache(tmp_path)
    assert reopened.get(key, "yunet|facenet") is not None, "the cache did not persist"


@pytest.mark.parametrize("shared", [True, False], ids=["one-connection", "two-connections"])
def test_two_threads_writing_at_once(tmp_path: Path, shared: bool):
    caches = [EmbeddingCache(tmp_path)] * 2 if shared else [EmbeddingCache(tmp_path), EmbeddingCache(tmp_path)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def write(worker: int) -> None:
        try:
            start.wait()
            for i in range(150):
                faces, vectors = _entry(worker * 1000 + i, 1 + i % 3)
                caches[worker].put(f"{worker}-{i}", "p", faces, vectors)
                caches[worker].get(f"{1 - worker}-{i}", "p")
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    check = EmbeddingCache(tmp_path)
    for worker in range(2):
        for i in range(150):
            _, expected = _entry(worker * 1000 + i, 1 + i % 3)
            _, vectors = check.get(f"{worker}-{i}", "p")
            np.testing.assert_array_equal(vectors, expected)
    with sqlite3.connect(check.path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
