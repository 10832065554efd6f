"""Training: scan the folder, split, find and embed the faces, fit the head, calibrate, evaluate."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.cache import EmbeddingCache
from whosthat.dataset import Item, Split, scan, stratified_split
from whosthat.errors import DatasetError
from whosthat.evaluate import Evaluation, score_predictions
from whosthat.heads import create_head
from whosthat.model import Component, Model
from whosthat.openset import calibrate, simulate_strangers
from whosthat.pipeline import Subjects

#: The defaults, chosen by bench/accuracy.py (see the README's table).
DEFAULT_DETECTOR = "yunet"
DEFAULT_EMBEDDER = "facenet+dlib"
DEFAULT_HEAD = "logistic"


@dataclass(frozen=True)
class Note:
    """Something the user should know about one photo of the training folder."""

    path: str
    kind: str
    message: str


@dataclass
class TrainingLog:
    """What training did with the photos: notes per photo, timings, the split, test results."""

    notes: list[Note] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    split: Optional[Split] = None
    evaluation: Optional[Evaluation] = None

    def note(self, path: str | Path, kind: str, message: str) -> None:
        """Record a note of a kind: "skipped", "unreadable", "no face" or "several faces"."""
        self.notes.append(Note(str(path), kind, message))


def train(folder: str | os.PathLike, *, out: Optional[str | os.PathLike] = None, detector: str = DEFAULT_DETECTOR,
          embedder: str = DEFAULT_EMBEDDER, head: str = DEFAULT_HEAD, test_dir: Optional[str | os.PathLike] = None,
          seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.2, split: Optional[Split] = None,
          flip: bool = False, max_member_rejection: float = 0.03,
          cache_dir: Optional[str | os.PathLike] = None, use_cache: bool = True,
          progress: Optional[Callable[[str, int], Callable[[int], None]]] = None,
          log: Optional[TrainingLog] = None) -> Model:
    """Learn the members from `folder/<member>/<photo>` and return the model (saved to `out` if given).

    The folder is split per class into train / validation / test with `seed` (or train /
    validation when `test_dir` holds the test photos), unless `split` gives the split (paths
    relative to `folder`; the classes are those with training photos, and test photos of other
    classes are scored as strangers: the benchmark's cross-validation and held-out classes).
    The head learns from the training faces, the stranger threshold is calibrated on the
    validation faces, and the test photos are predicted as new photos would be; their scores go
    into the model. `progress(label, total)`
    returns a callback advanced per photo (the CLI's progress bars). `max_member_rejection`
    is the share of validation members the stranger threshold may call unknown (higher: fewer
    strangers named). `log` collects notes about
    photos that were skipped or that held several faces.
    """
    log = log if log is not None else TrainingLog()
    started = time.perf_counter()
    collection = scan(folder)
    log.counts = dict(collection.counts())
    for path, reason in collection.skipped:
        log.note(path, "skipped", reason)
    test_collection = scan(test_dir) if test_dir is not None else None
    if test_collection is not None:
        unknown = sorted(set(test_collection.classes) - set(collection.classes))
        if unknown:
            log.note(test_dir, "strangers",
                     f"test classes not in the training folder are scored as strangers: {', '.join(unknown)}")
    if split is None:
        split = stratified_split(collection, val_fraction=val_fraction,
                                 test_fraction=0.0 if test_collection is not None else test_fraction, seed=seed)
    log.split = split
    by_path = {item.path.relative_to(collection.root).as_posix(): item for item in collection.items}
    unknown_paths = sorted(set(split.train + split.val + split.test) - set(by_path))
    if unknown_paths:
        raise DatasetError(f"{collection.root}: the split names photos that are not there: {unknown_paths[0]}")
    classes = sorted({by_path[p].label for p in split.train})
    if len(classes) < 2:
        raise DatasetError(f"{collection.root}: {len(classes)} class with training photos; whosthat needs at least two")

    model = Model(classes, Component(detector), Component(embedder, {"flip": flip}), create_head(head),
                  reference=np.zeros((0, 0)), reference_labels=np.zeros(0), threshold=0.0)
    cache = EmbeddingCache(Path(cache_dir) if cache_dir else None) if use_cache else None
    extractor = model.extractor(cache)
    learn = [by_path[p] for p in split.train + split.val]
    callback = progress("embedding training photos", len(learn)) if progress else None
    subjects = dict(zip([i.path for i in learn], extractor.extract_paths([i.path for i in learn], callback)))
    log.seconds["embedding"] = time.perf_counter() - started

    chosen = _choose_faces(classes, learn, subjects, log)
    index = {c: k for k, c in enumerate(classes)}
    X_train, y_train = _stack(chosen, split.train, by_path, index)
    X_val, y_val = _stack(chosen, split.val, by_path, index)
    missing = [c for c in classes if index[c] not in set(y_train.tolist())]
    if missing:
        raise DatasetError(f"{collection.root}: no training photo with a face for {', '.join(missing)}")

    fit_started = time.perf_counter()
    model.head.fit(X_train, y_train, len(classes))
    model.reference, model.reference_labels = X_train, y_train
    member, stranger = simulate_strangers(model.head, lambda: create_head(head, **model.head.get_params()),
                                          X_train, y_train, X_val, y_val, len(classes), seed=seed)
    model.threshold, curve = calibrate(member, stranger, max_member_rejection)
    log.seconds["fit"] = time.perf_counter() - fit_started
    model.arrays = {"open_set/thresholds": curve.thresholds, "open_set/strangers_accepted": curve.strangers_accepted,
                    "open_set/members_rejected": curve.members_rejected}

    test_items = (test_collection.items if test_collection is not None
                  else [by_path[p] for p in split.test])
    if test_items:
        callback = progress("predicting test photos", len(test_items)) if progress else None
        results = extractor.extract_paths([i.path for i in test_items], callback)
        predictions = [model.name_subjects(s) for s in results]
        truth = [index.get(i.label, -1) for i in test_items]
        log.evaluation = score_predictions(classes, [i.path for i in test_items], truth, predictions)
    log.seconds["total"] = time.perf_counter() - started
    model.info = {
        "split": {**split.as_dict(), "root": str(collection.root), "test_dir": str(test_dir) if test_dir else None},
        "open_set_calibration": {"members": int(curve.n_members), "simulated_strangers": int(curve.n_strangers)},
        "training": {"photos_used": len(chosen), "notes": [n.__dict__ for n in log.notes],
                     "seconds": {k: round(v, 2) for k, v in log.seconds.items()}},
        "metrics": log.evaluation.to_dict() if log.evaluation else None,
    }
    if out is not None:
        model.save(out)
    return model


def _choose_faces(classes: list[str], items: list[Item], subjects: dict[Path, Subjects], log: TrainingLog
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


def _stack(chosen: dict[Path, np.ndarray], relative: tuple[str, ...], by_path: dict, index: dict[str, int]
           ) -> tuple[np.ndarray, np.ndarray]:
    rows = [(chosen[by_path[p].path], index[by_path[p].label]) for p in relative
            if by_path[p].path in chosen and by_path[p].label in index]
    if not rows:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return np.stack([r[0] for r in rows]).astype(np.float32), np.array([r[1] for r in rows], np.int64)
