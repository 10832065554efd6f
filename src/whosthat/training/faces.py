"""Which face of each training photo is learned from, and which photos are left out (copies, conflicts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whosthat.core.text import listed
from whosthat.training.folder import Item, without_copies
from whosthat.training.log import TrainingLog
from whosthat.vision.extract import Subjects


@dataclass(frozen=True)
class Rows:
    """The photos of one part of the split that give a row (a face was chosen and its class is known):
    their paths relative to the training folder, (n, dim) embeddings and class indices."""

    paths: list[str]
    X: np.ndarray
    y: np.ndarray


def choose_faces(classes: list[str], items: list[Item], subjects: dict[Path, Subjects], log: TrainingLog
                 ) -> dict[Path, np.ndarray]:
    """One embedding per training photo: the only face, or of several the one most like the class.

    A photo with several faces (a group shot filed under one member) uses the face closest to
    the mean of that member's single-face photos, or the largest face when the member has none.
    """
    centroids: dict[str, np.ndarray] = {}
    for label in classes:
        singles = [subjects[i.path].embeddings[0] for i in items
                   if i.label == label and len(subjects[i.path].faces) == 1]
        if singles:
            centroids[label] = np.mean(singles, axis=0)
    chosen = {}
    for item in items:
        found = subjects[item.path]
        if found.error is not None:
            log.note(item.path, "unreadable", f"unreadable, not used: {found.error.split(': ', 1)[-1]}")
        elif not found.faces:
            log.note(item.path, "no face", "no face found, not used")
        elif len(found.faces) == 1:
            chosen[item.path] = found.embeddings[0]
        else:
            largest = int(np.argmax([f.area for f in found.faces]))
            if item.label in centroids:
                similarity = found.embeddings @ centroids[item.label]
                pick = int(np.argmax(similarity))
                why = (f"the one most like {item.label}'s other photos (similarity {similarity[pick]:.2f})"
                       + ("" if pick == largest else ", not the largest"))
            else:
                pick, why = largest, f"the largest ({item.label} has no single-face photo to compare with)"
            x1, y1, x2, y2 = (int(v) for v in found.faces[pick].box)
            log.note(item.path, "several faces",
                     f"{len(found.faces)} faces; used the face at ({x1},{y1})-({x2},{y2}), {why}")
            chosen[item.path] = found.embeddings[pick]
    return chosen


def drop_conflicts(chosen: dict[Path, np.ndarray], items: list[Item], keys: dict[Path, str], log: TrainingLog
                   ) -> None:
    """Leave out byte-identical photos filed under two or more members that give the same face:
    who it shows is in doubt. (A group shot filed under each of its members gives each the face
    most like that member, and stays.)"""
    copies: dict[tuple[str, bytes], list[Item]] = {}
    for item in items:
        if item.path in chosen:
            copies.setdefault((keys[item.path], chosen[item.path].tobytes()), []).append(item)
    for same in copies.values():
        if len({item.label for item in same}) > 1:
            for item in same:
                others = listed([f"{o.label}/{o.path.name}" for o in same if o.label != item.label])
                log.note(item.path, "conflicting labels",
                         f"the same file, and face, is also filed as {others}: not used, who it shows is in doubt")
                del chosen[item.path]


def without_training_copies(test_items: list[Item], learned: list[Item], keys: dict[Path, str],
                            log: TrainingLog) -> list[Item]:
    """The test photos that are not byte-identical copies of photos the model learned from (those
    would flatter it); each copy left out is noted."""
    seen = {keys[item.path]: item for item in learned}
    kept, copies = without_copies(test_items, seen, keys)
    for item in copies:
        original = seen[keys[item.path]]
        log.note(item.path, "copy of a training photo",
                 f"the same file as {original.label}/{original.path.name}, which the model learned from: "
                 "left out of the test")
    return kept


def filed_once(items: list[Item], keys: dict[Path, str]) -> list[Item]:
    """The photos of which no copy is filed under another member (the sample `--subject auto` scores)."""
    labels: dict[str, set[str]] = {}
    for item in items:
        labels.setdefault(keys[item.path], set()).add(item.label)
    return [item for item in items if len(labels[keys[item.path]]) == 1]


def rows(chosen: dict[Path, np.ndarray], relative: Sequence[str], by_path: dict[str, Item], index: dict[str, int]
         ) -> Rows:
    """The rows of the photos `relative` (paths relative to the training folder) that give one."""
    kept = [p for p in relative if by_path[p].path in chosen and by_path[p].label in index]
    if not kept:
        return Rows([], np.zeros((0, 0), np.float32), np.zeros(0, np.int64))
    return Rows(kept, np.stack([chosen[by_path[p].path] for p in kept]).astype(np.float32),
                np.array([index[by_path[p].label] for p in kept], np.int64))


def chosen_box(found: Subjects, embedding: np.ndarray) -> np.ndarray:
    """The box of the face `choose_faces` took from a photo (the one whose embedding it is)."""
    return found.faces[int(np.argmax(found.embeddings @ embedding))].box


def is_digest(key: str) -> bool:
    """Whether a content key is a SHA-256 digest (an unreadable file keys by its path)."""
    return len(key) == 64 and all(c in "0123456789abcdef" for c in key)
