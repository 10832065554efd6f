"""The collection check: a face's name kept only where the collection around it agrees (`collection/consensus.py`),
on arrays the tests make and on a real index of members' photos among look-alike idols."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import whosthat
from collection.photos import copy_photos, member_photos
from conftest import KPOP15, KPOP_STRANGERS, images_of, require
from whosthat.collection import Index, index, indexer
from whosthat.collection.consensus import check_names
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.recogniser import Recogniser
from whosthat.vision.vectors import normalise

NAMES = np.array(["ana", "bo", "cy"], dtype=object)


class _Named:
    """What the check reads of a model: its recogniser (a `Model` has one, an ensemble none)."""

    def __init__(self, recogniser: Recogniser | None) -> None:
        if recogniser is not None:
            self.recogniser = recogniser


def test_a_crowd_nearer_one_member_loses_the_other_members_name() -> None:
    """Thirty photos of one stranger between ana and bo, nearer ana, each named face by face as one or the
    other: the crowd leads to ana, so (nearly) every face named bo loses the name; members' new photos, near their own
    training faces, keep theirs; no unknown face gains a name."""
    rng = np.random.default_rng(0)
    centres = normalise(rng.normal(size=(3, 16)))
    X = normalise(np.repeat(centres, 20, axis=0) + 0.15 * rng.normal(size=(60, 16)))
    recogniser = Recogniser(calibrate=False).fit(X, np.repeat(NAMES, 20))
    crowd = normalise(normalise(0.65 * centres[:1] + 0.35 * centres[1:2]) + 0.05 * rng.normal(size=(30, 16)))
    members = normalise(np.repeat(centres, 5, axis=0) + 0.15 * rng.normal(size=(15, 16)))
    vectors = np.vstack([crowd, members, members[:3]])
    labels = np.concatenate([np.where(np.arange(30) % 2 == 0, "ana", "bo"), np.repeat(NAMES, 5),
                             [UNKNOWN_LABEL] * 3]).astype(object)
    checked = check_names(_Named(recogniser), vectors, labels)
    assert (checked[:30][labels[:30] == "bo"] == UNKNOWN_LABEL).mean() >= 0.8, checked[:30]
    np.testing.assert_array_equal(checked[30:45], labels[30:45])
    assert (checked[45:] == UNKNOWN_LABEL).all()
    assert ((checked == labels) | (checked == UNKNOWN_LABEL)).all(), "the check only ever takes a name away"


def test_a_burst_of_near_identical_photos_of_a_member_keeps_her_name() -> None:
    """Twelve near-copies of one photo of a member: each one's nearest faces are the other copies, yet the links
    go both ways, so her training faces still reach them."""
    rng = np.random.default_rng(3)
    centres = normalise(rng.normal(size=(3, 16)))
    X = normalise(np.repeat(centres, 20, axis=0) + 0.15 * rng.normal(size=(60, 16)))
    recogniser = Recogniser(calibrate=False).fit(X, np.repeat(NAMES, 20))
    photo = normalise(centres[2:3] + 0.15 * rng.normal(size=(1, 16)))
    burst = normalise(np.repeat(photo, 12, axis=0) + 0.01 * rng.normal(size=(12, 16)))
    labels = np.full(12, "cy", dtype=object)
    np.testing.assert_array_equal(check_names(_Named(recogniser), burst, labels), labels)


def test_without_training_faces_or_faces_enough_the_names_stay() -> None:
    labels = np.array(["ana", "bo"], dtype=object)
    vectors = normalise(np.random.default_rng(1).normal(size=(2, 16)))
    np.testing.assert_array_equal(check_names(_Named(None), vectors, labels), labels)
    X = normalise(np.random.default_rng(2).normal(size=(6, 16)))
    small = Recogniser(calibrate=False).fit(X, np.repeat(NAMES, 2))
    np.testing.assert_array_equal(check_names(_Named(small), vectors[:1], labels[:1]), labels[:1])


def _named_photos(opened: Index) -> dict[str, set[str]]:
    photos: dict[str, set[str]] = {}
    for row in opened.store.scan(["path", "label"]).to_pylist():
        photos.setdefault(row["path"], set()).add(row["label"])
    return photos


def test_the_index_names_fewer_look_alike_idols_and_as_many_members(model_file: Path, session_cache: Path,
                                                                    tmp_path: Path) -> None:
    """Members' photos among kpop15 idols the blackpink model never saw, indexed with and without the check: the
    check names fewer idols' photos and every member's photo it named before, and says how many faces it doubted;
    a run that changes nothing checks nothing, and each photo's faces stay side by side."""
    require(KPOP15)
    photos = copy_photos(tmp_path / "photos", {**{f"members/{m}": paths for m, paths in member_photos(5).items()},
                                               **{f"idols/{n}": images_of(KPOP15 / n) for n in KPOP_STRANGERS}})
    alone = index(model_file, photos, index=tmp_path / "alone", cache_dir=session_cache, check=False)
    checked = index(model_file, photos, index=tmp_path / "checked", cache_dir=session_cache)
    before, after = _named_photos(alone), _named_photos(checked)
    idols = [p for p in before if p.startswith("idols/")]
    members = [p for p in before if p.startswith("members/")]
    named = {name: sum(bool(photos_[p] - {UNKNOWN_LABEL}) for p in idols)
             for name, photos_ in (("alone", before), ("checked", after))}
    assert named["checked"] < named["alone"], named
    right = {name: sum(p.split("/")[1] in photos_[p] for p in members)
             for name, photos_ in (("alone", before), ("checked", after))}
    assert right["checked"] >= right["alone"] - 1, right
    faces_alone = {(r["path"], r["face"]): r["label"] for r in alone.store.scan(["path", "face", "label"]).to_pylist()}
    faces_checked = {(r["path"], r["face"]): r["label"]
                     for r in checked.store.scan(["path", "face", "label"]).to_pylist()}
    assert checked.last_run is not None
    assert checked.last_run.doubted == sum(faces_alone[k] != faces_checked[k] for k in faces_alone) > 0
    again = whosthat.index(model_file, photos, index=tmp_path / "checked", cache_dir=session_cache).last_run
    assert again is not None and again.doubted == 0 and "check" not in again.timings
    order = [r["path"] for r in Index(tmp_path / "checked").store.scan(["path"]).to_pylist()]
    runs = [p for n, p in enumerate(order) if n == 0 or order[n - 1] != p]
    assert len(runs) == len(set(order)), "a photo's faces stay side by side"


def test_an_index_larger_than_the_check_takes_keeps_its_names_and_says_so(model_file: Path, session_cache: Path,
                                                                          tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Above `MAX_FACES` (lowered here to a few faces) the names stay as given face by face, and the run says how
    many faces went unchecked."""
    photos = copy_photos(tmp_path / "photos", {f"members/{m}": paths for m, paths in member_photos(2).items()})
    monkeypatch.setattr(indexer, "MAX_FACES", 3)
    run = index(model_file, photos, index=tmp_path / "big", cache_dir=session_cache).last_run
    assert run is not None and run.unchecked == run.faces > 3 and run.doubted == 0 and "check" not in run.timings
