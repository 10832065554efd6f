"""Byte-identical copies in the photos a user trains on: a photo filed under two members is left
out when it gives both the same face, kept when it is a group shot that gives each their own, and
a test photo that is a copy of a training photo is left out of the test."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import whosthat
from conftest import BLACKPINK_GROUP, KPOP_KNOWN, kpop_split, link_tree


def _notes(model: whosthat.Model, kind: str) -> dict[str, str]:
    return {note.path: note.message for note in model.training.notes if note.kind == kind}


def test_copies_across_members_and_into_the_test_folder(tmp_path: Path, session_cache: Path):
    train, held_out = kpop_split()
    first, second = KPOP_KNOWN[:2]
    root = link_tree(tmp_path / "train", train)
    doubtful = root / second / "filed-twice.jpg"
    doubtful.symlink_to(train[first][0])
    test_dir = link_tree(tmp_path / "test", {name: held_out[name][:2] for name in KPOP_KNOWN[:3]})
    copy = test_dir / first / "seen.jpg"
    copy.symlink_to(train[first][1])

    model = whosthat.train(root, embedder="facenet", test_dir=test_dir, cache_dir=session_cache)

    conflicting = _notes(model, "conflicting labels")
    assert set(conflicting) == {str(root / first / train[first][0].name), str(doubtful)}
    assert f"{second}/filed-twice.jpg" in conflicting[str(root / first / train[first][0].name)]
    photos = sum(len(paths) for paths in train.values()) + 1
    assert model.training.photos_used == photos - 2 - len(_notes(model, "no face"))
    leaked = _notes(model, "copy of a training photo")
    assert list(leaked) == [str(copy)] and f"{first}/{train[first][1].name}" in leaked[str(copy)]
    assert "seen.jpg" not in " ".join(model.test.paths)
    assert model.test.metrics.photos == 6


def test_a_group_shot_filed_under_two_members_is_kept(blackpink_train_dir: Path, session_cache: Path, tmp_path: Path):
    members = {p.name: sorted(p.iterdir()) for p in sorted(blackpink_train_dir.iterdir())}
    members["jennie_kim"].append(BLACKPINK_GROUP)
    members["lisa_manoban"].append(BLACKPINK_GROUP)
    root = link_tree(tmp_path / "train", {name: [p.resolve() for p in paths] for name, paths in members.items()})

    model = whosthat.train(root, embedder="facenet", test_fraction=0.0, cache_dir=session_cache)

    assert not _notes(model, "conflicting labels")
    used = model.training.reference_photos.paths
    rows = [used.index(f"{name}/{BLACKPINK_GROUP.name}") for name in ("jennie_kim", "lisa_manoban")]
    boxes = model.training.reference_photos.boxes[rows]
    assert not np.allclose(boxes[0], boxes[1]), "both members were given the same face of the group shot"
