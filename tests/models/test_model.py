"""The Python API on real photos: train, predict, group photos (each member once), annotate, load."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import whosthat
from conftest import BLACKPINK_GROUP, BLACKPINK_GROUP_ORDER, compose_row
from whosthat import Prediction, Predictions


def _left_to_right(result: Predictions) -> list[str]:
    return [p.label for p in sorted(result, key=lambda p: p.box[0])]


def test_blackpink_group_photo_facenet(blackpink_model: whosthat.Model):
    """The real group photo: four faces, four different names, each the member standing there."""
    result = blackpink_model.predict(BLACKPINK_GROUP)
    names = _left_to_right(result)
    print(f"\nGROUP PHOTO facenet: {names}")
    assert len(result) == 4
    assert names == BLACKPINK_GROUP_ORDER


@pytest.mark.slow
def test_blackpink_group_photo_dlib(blackpink_train_dir: Path, session_cache: Path):
    model = whosthat.train(blackpink_train_dir, embedder="dlib", test_fraction=0.0, cache_dir=session_cache)
    names = _left_to_right(model.predict(BLACKPINK_GROUP))
    print(f"\nGROUP PHOTO dlib: {names}")
    assert names == BLACKPINK_GROUP_ORDER


def test_train_returns_a_model(kpop_trained):
    model, path = kpop_trained
    assert isinstance(model, whosthat.Model) and path.is_file()
    assert len(model.classes) == 10
    metrics = model.test.metrics
    print(f"\nkpop model: test accuracy {metrics.accuracy:.1%} on {metrics.photos} photos, "
          f"threshold {model.threshold:.3f}")
    assert metrics.accuracy >= 0.7


def test_predictions_api(kpop_model: whosthat.Model, kpop_held_out):
    photo = kpop_held_out["Irene"][0]
    result = kpop_model.predict(photo)
    assert isinstance(result, Predictions) and isinstance(result, Sequence)
    assert len(result) >= 1 and all(isinstance(p, Prediction) for p in result)
    width, height = Image.open(photo).size
    assert (result.width, result.height) == (width, height) and result.error is None
    assert result.source == str(photo)
    first = result[0]
    assert set(first.probabilities) == set(kpop_model.classes)
    assert abs(sum(first.probabilities.values()) - 1) < 1e-5
    assert 0 <= first.confidence <= 1
    assert 0 <= first.box[0] < first.box[2] <= width and 0 <= first.box[1] < first.box[3] <= height
    assert [name for name, _ in first.top(2)][0] == max(first.probabilities, key=first.probabilities.get)
    assert result.labels == [p.label for p in result]
    picture = result.annotate()
    assert isinstance(picture, Image.Image) and picture.size == (width, height)
    png = result._repr_png_()
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size == (width, height)
    areas = [(p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) for p in result]
    assert areas == sorted(areas, reverse=True), "faces are not largest first"


@pytest.mark.parametrize("kind", ["path", "str", "bytes", "array", "pil"])
def test_predict_sources(kpop_model: whosthat.Model, kpop_held_out, kind: str):
    photo = kpop_held_out["Jihyo"][0]
    source = {"path": photo, "str": str(photo), "bytes": photo.read_bytes(),
              "array": np.asarray(Image.open(photo).convert("RGB")), "pil": Image.open(photo)}[kind]
    result = kpop_model.predict(source)
    assert len(result) >= 1 and result[0].label in kpop_model.classes + ["unknown"]


def test_predict_unreadable_raises(kpop_model: whosthat.Model, tmp_path: Path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a photo")
    with pytest.raises(whosthat.ImageError, match="bad.jpg"):
        kpop_model.predict(bad)


def test_predict_paths_is_predict_photo_by_photo(blackpink_model: whosthat.Model, datasets: Path, tmp_path: Path):
    """A folder's photos named together (read in threads, embedded in batches) get the names, boxes and vectors
    that `predict` gives one by one; an unreadable file comes out in its place with its error."""
    photos = sorted((datasets / "blackpink" / "photos" / "lisa_manoban").iterdir())[:6] + [BLACKPINK_GROUP]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    paths = photos[:3] + [broken] + photos[3:]
    together = list(blackpink_model.predict_paths(paths, keep_images=True))
    assert [r.source for r in together] == [str(p) for p in paths]
    assert together[3].error is not None and str(broken) in together[3].error and len(together[3]) == 0
    for path, result in zip(photos, together[:3] + together[4:]):
        alone = blackpink_model.predict(path)
        assert result.error is None and [p.label for p in result] == [p.label for p in alone]
        np.testing.assert_allclose([p.box for p in result], [p.box for p in alone], atol=1e-4)
        np.testing.assert_allclose([p.embedding for p in result], [p.embedding for p in alone], atol=1e-5)
        assert result.annotate().size == alone.annotate().size
    assert sum(len(r) for r in together) >= 10


def test_blank_image_has_no_face(kpop_model: whosthat.Model):
    result = kpop_model.predict(np.full((400, 600, 3), 200, np.uint8))
    assert len(result) == 0 and result.labels == []


GROUPS = [
    ["Irene", "Jihyo", "Lisa"],
    ["Naeun", "Nayeon", "Seulgi", "Umji"],
    ["Chaeyong", "Chorong", "Eunha", "Irene"],
    ["Jihyo", "Lisa", "Naeun", "Seulgi"],
]


def test_composed_group_photos(kpop_model: whosthat.Model, kpop_held_out, tmp_path: Path):
    """Photos of different members (never seen in training) side by side: all names differ, most are right."""
    right = total = 0
    for n, members in enumerate(GROUPS):
        photos = [kpop_held_out[m][n % len(kpop_held_out[m])] for m in members]
        path = tmp_path / f"group{n}.png"
        compose_row(photos).save(path)
        result = kpop_model.predict(path)
        assert len(result) == len(members), f"group {n}: {len(result)} faces found of {len(members)}"
        names = _left_to_right(result)
        named = [x for x in names if x != "unknown"]
        assert len(named) == len(set(named)), f"group {n}: a name given twice: {names}"
        right += sum(a == b for a, b in zip(names, members))
        total += len(members)
        print(f"\ncomposed group {n}: truth {members} -> {names}")
    print(f"composed groups: {right}/{total} right")
    assert right >= 0.7 * total


def test_same_member_twice_is_not_named_twice(kpop_model: whosthat.Model, kpop_held_out, tmp_path: Path):
    photos = [kpop_held_out["Jihyo"][0], kpop_held_out["Irene"][0], kpop_held_out["Jihyo"][1]]
    path = tmp_path / "twice.png"
    compose_row(photos).save(path)
    result = kpop_model.predict(path)
    names = _left_to_right(result)
    print(f"\nsame member twice: {names}")
    assert len(result) == 3
    assert names.count("Jihyo") <= 1, f"Jihyo named twice: {names}"
    assert "Jihyo" in names, f"Jihyo not named at all: {names}"


def test_too_few_classes(tmp_path: Path, kpop_held_out):
    (tmp_path / "only").mkdir()
    for photo in kpop_held_out["Irene"][:3]:
        (tmp_path / "only" / photo.name).symlink_to(photo)
    with pytest.raises(whosthat.DatasetError, match="at least two"):
        whosthat.train(tmp_path, embedder="facenet", use_cache=False)
