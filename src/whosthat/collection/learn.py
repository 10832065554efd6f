"""`learn`: the index's model fitted again from the collection's corrections, and the index named anew by it,
from the vectors the index holds (no photo is read but new ones).

What each corrected face teaches (`corrections.resolve`): a face confirmed as a name is learned as that member
(a new name makes a new member, with no photo folder); a face said to be a stranger, or "not NAME" when NAME is
the name the index gives it and nothing confirmed another, is learned as nobody of the group, beside the
non-members the model knew (`whosthat.training.refit`). The model learns again from all the corrections each
time, so a correction taken back is forgotten, and with every correction taken back the model learned before
any is fitted again (an index whose model never learned from corrections has nothing to learn without some).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whosthat.collection import corrections
from whosthat.collection.indexer import IndexReport, build_index
from whosthat.collection.rows import matrix
from whosthat.collection.store import IndexStore, sql_text
from whosthat.core.errors import WhosthatError
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.models.loading import load
from whosthat.models.model import Model
from whosthat.training.refit import given, refit


class NothingToLearnError(WhosthatError):
    """An index without corrections to learn from, or a model that cannot learn from them (an ensemble)."""


@dataclass(frozen=True)
class Lessons:
    """The corrected faces' vectors: `faces` (n, dim) with the `names` they are, and `nobody` (m, dim)."""

    faces: np.ndarray
    names: tuple[str, ...]
    nobody: np.ndarray


@dataclass(frozen=True)
class LearnReport:
    """What `learn` did: the model written, what it learned (faces per name, faces of nobody, new members), how
    long the fitting took, and the index run that named the collection with it."""

    model_file: Path
    confirmed: dict[str, int]
    nobody: int
    new_members: tuple[str, ...]
    seconds: float
    run: IndexReport


def lessons(store: IndexStore) -> Lessons:
    """What the index's corrections teach (see the module): nothing when there are none."""
    resolved = corrections.resolve(corrections.read(store))
    empty = np.zeros((0, store.manifest.dim), np.float32)
    if not resolved:
        return Lessons(empty, (), empty)
    faces = store.scan(["content_hash", "face", "label", "vector"],
                       f"content_hash IN ({', '.join(sql_text(h) for h in resolved.photos.to_pylist())})")
    keys = corrections.keys(faces).to_pylist()
    vectors = matrix(faces["vector"], store.manifest.dim)
    first = {key: n for n, key in reversed(list(enumerate(keys)))}
    labels = faces["label"].to_pylist()
    named: list[tuple[int, str]] = []
    nobody: list[tuple[int, str]] = []
    for key, name in zip(resolved.keys.to_pylist(), resolved.names.to_pylist()):
        if key in first:
            (nobody if name == UNKNOWN_LABEL else named).append((first[key], name))
    for entry in resolved.denied.to_pylist():
        key, name = entry.split("\n", 1)
        if key in first and labels[first[key]] == name:
            nobody.append((first[key], name))
    rows = [n for n, _ in named]
    return Lessons(vectors[rows] if rows else empty, tuple(name for _, name in named),
                   vectors[sorted({n for n, _ in nobody})] if nobody else empty)


def learn(directory: Path, out: Path, *, wait: float = 0.0) -> LearnReport:
    """Fit the model of the index in `directory` again from its corrections, write it to `out`, and name the
    index's faces with it (`index --relabel`). Raises `WhosthatError` subclasses for what a user can cause."""
    store = IndexStore(directory)
    model = load(store.model_path())
    if not isinstance(model, Model):
        raise NothingToLearnError(f"{directory}: named by a model of several models; learning needs one model "
                                  "(train one, index with it, then correct and learn)")
    taught = lessons(store)
    if not taught.names and not len(taught.nobody) and given(model) is None:
        raise NothingToLearnError(f"{directory}: no corrections to learn from (give some with `whosthat label`)")
    started = time.perf_counter()
    learned = refit(model, taught.faces, taught.names, taught.nobody, source=str(directory))
    seconds = time.perf_counter() - started
    written = learned.save(out)
    run = build_index(written, None, directory, relabel=True, wait=wait)
    record = learned.training.learned if learned.training is not None else None
    return LearnReport(written, dict(record.confirmed) if record else {}, len(taught.nobody),
                       record.new_members if record else (), seconds, run)
