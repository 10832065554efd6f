"""Training: scan the folder, split, find and embed the faces, fit the head, calibrate, evaluate."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.cache import EmbeddingCache
from whosthat.dataset import Item, Split, content_keys, scan, stratified_split, without_copies
from whosthat.errors import DatasetError
from whosthat.evaluate import Evaluation, score_predictions
from whosthat.finetune import RECIPES, FinetuneResult
from whosthat.finetune import finetune as run_finetune
from whosthat.finetune.chips import subject_chip
from whosthat.heads import Head, create_head
from whosthat.model import Component, Model
from whosthat.networks import create_network
from whosthat.openset import (
    DEFAULT_MAX_MEMBER_REJECTION,
    StrangerScore,
    calibrate,
    cross_validated_cues,
    simulate_strangers,
)
from whosthat.pipeline import Subjects
from whosthat.subjects import create_detector
from whosthat.subjects.choose import FACE_EMBEDDERS, SUBJECTS, SubjectChoice, choose_subject
from whosthat.text import listed
from whosthat.whitening import fit_whitening

#: The defaults, chosen by bench/accuracy.py (see the README's table); the detector and embedder
#: follow from the subject (`whosthat.subjects.choose.SUBJECTS`), the head from the embedder.
DEFAULT_SUBJECT = "auto"
#: The head on face embeddings (chosen by bench/accuracy.py), and on ImageNet features, frozen or
#: fine-tuned, where a linear SVM named more test pictures than logistic regression (anime_newgame8's
#: test crops, illustrations and uncleaned crops, blackpink's faces: bench/README.md).
DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD = "logistic", "svm"
#: The face pipeline's detector and embedder.
DEFAULT_DETECTOR, DEFAULT_EMBEDDER = SUBJECTS["face"]


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
    subject: Optional[SubjectChoice] = None
    finetune: Optional[FinetuneResult] = None
    messages: list[str] = field(default_factory=list)
    echo: Optional[Callable[[str], None]] = None

    def say(self, message: str) -> None:
        """A line about the run as a whole (fine-tuning epochs, the device used); shown as it happens by the CLI."""
        self.messages.append(message)
        if self.echo is not None:
            self.echo(message)

    def note(self, path: str | Path, kind: str, message: str) -> None:
        """Record a note of a kind: "skipped", "strangers", "unreadable", "no face", "several faces",
        "conflicting labels" or "copy of a training photo"."""
        self.notes.append(Note(str(path), kind, message))


def train(folder: str | os.PathLike, *, out: Optional[str | os.PathLike] = None, subject: str = DEFAULT_SUBJECT,
          detector: Optional[str] = None, embedder: Optional[str] = None, head: Optional[str] = None,
          finetune: Optional[str] = None, epochs: Optional[int] = None, resume: bool = False,
          workers: Optional[int] = None, test_dir: Optional[str | os.PathLike] = None,
          seed: int = 0, val_fraction: float = 0.15, test_fraction: float = 0.2, split: Optional[Split] = None,
          flip: bool = False, whiten: Optional[bool] = None, max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION,
          cache_dir: Optional[str | os.PathLike] = None, use_cache: bool = True,
          progress: Optional[Callable[[str, int], Callable[[int], None]]] = None,
          log: Optional[TrainingLog] = None) -> Model:
    """Learn the members from `folder/<member>/<photo>` and return the model (saved to `out` if given).

    subject: "face" (YuNet + FaceNet/dlib), "image" (the whole picture + ImageNet backbones),
    "character" (a drawn face if YuNet finds one, else the whole picture + ImageNet backbones) or
    "auto" (each tried on a sample, the best kept); `detector` / `embedder` override its choice.
    finetune: a network of `whosthat.networks` trained end to end on the training photos (with
    augmentation and early stopping on the validation photos) whose features replace the
    embedder's; `epochs` overrides its recipe, `resume` continues an interrupted run from its
    checkpoint (`out` + ".checkpoint", written every epoch), `workers` sets DataLoader workers.
    The folder is split per class into train / validation / test with `seed` (or train /
    validation when `test_dir` holds the test photos), unless `split` gives the split (paths
    relative to `folder`; the classes are those with training photos, and test photos of other
    classes are scored as strangers: the benchmark's cross-validation and held-out classes).
    Byte-identical copies stay in one part of the split; copies filed under several members that
    give the same face are not learned from, and test photos that are copies of learned ones are
    not scored (each is noted in `log`).
    head: the classifier (`whosthat.heads`); by default logistic regression on face embeddings and
    a linear SVM on ImageNet features (DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD).
    whiten: learn a within-class whitening of the embeddings (`whosthat.whitening`) before the
    head; by default for face embedders, where it was measured to help.
    The head learns from the training faces (its validation probabilities are kept for `ensemble
    --best`), then from both; the stranger score and threshold are calibrated by cross-validation
    over both (`whosthat.openset`), and the test photos are predicted as new photos would be;
    their scores go into the model. `progress(label, total)` returns a callback advanced per photo
    (the CLI's progress bars). `max_member_rejection` is the share of members, among photos the scoring
    head never saw, the stranger threshold may call unknown (higher: fewer strangers named).
    `log` collects notes about
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
    keys = content_keys(collection.items + (test_collection.items if test_collection is not None else []))
    if split is None:
        split = stratified_split(collection, val_fraction=val_fraction,
                                 test_fraction=0.0 if test_collection is not None else test_fraction, seed=seed,
                                 keys=keys)
    log.split = split
    by_path = {item.path.relative_to(collection.root).as_posix(): item for item in collection.items}
    unknown_paths = sorted(set(split.train + split.val + split.test) - set(by_path))
    if unknown_paths:
        raise DatasetError(f"{collection.root}: the split names photos that are not there: {unknown_paths[0]}")
    classes = sorted({by_path[p].label for p in split.train})
    if len(classes) < 2:
        raise DatasetError(f"{collection.root}: {len(classes)} class with training photos; whosthat needs at least two")

    cache = EmbeddingCache(Path(cache_dir) if cache_dir else None) if use_cache else None
    learn = [by_path[p] for p in split.train + split.val]
    detector, embedder = _resolve_subject(subject, detector, embedder, _filed_once(learn, keys), cache, keys, log)
    embedder_component, embedder_arrays = Component(embedder, {"flip": flip}), {}
    if finetune is not None:
        result = _finetune(finetune, detector, classes, split, by_path, epochs=epochs, resume=resume, workers=workers,
                           seed=seed, out=out, cache=cache, log=log)
        embedder_component = Component("finetuned", {"architecture": finetune, "flip": flip})
        embedder_arrays = {f"embedder/{k}": v for k, v in result.state.items()}
    faces = finetune is None and embedder in FACE_EMBEDDERS
    head = head or (DEFAULT_FACE_HEAD if faces else DEFAULT_IMAGE_HEAD)
    model = Model(classes, Component(detector), embedder_component, create_head(head),
                  reference=np.zeros((0, 0)), reference_labels=np.zeros(0), threshold=0.0, arrays=embedder_arrays)
    callback = progress("embedding training photos", len(learn)) if progress else None
    subjects = dict(zip([i.path for i in learn],
                        model.extract_paths([i.path for i in learn], cache=cache, progress=callback, keys=keys)))
    log.seconds["embedding"] = time.perf_counter() - started

    chosen = _choose_faces(classes, learn, subjects, log)
    _drop_conflicts(chosen, learn, keys, log)
    index = {c: k for k, c in enumerate(classes)}
    X_train, y_train = _stack(chosen, split.train, by_path, index)
    X_val, y_val = _stack(chosen, split.val, by_path, index)
    missing = [c for c in classes if index[c] not in set(y_train.tolist())]
    if missing:
        raise DatasetError(f"{collection.root}: no training photo with a face for {', '.join(missing)}")

    fit_started = time.perf_counter()
    whiten = faces if whiten is None else whiten
    raw_train, raw_val = X_train, X_val
    if whiten:
        model.arrays["whitening/matrix"] = fit_whitening(X_train, y_train)
        X_train, X_val = model.features(X_train), model.features(X_val)
    trained_head = model.head.fit(X_train, y_train, len(classes))
    model.reference, model.reference_labels = X_train, y_train

    def make_head() -> Head:
        return create_head(head, **trained_head.get_params())

    everything = np.vstack([raw_train, raw_val]) if len(y_val) else raw_train
    if len(y_val):
        # What the head made of the validation photos before seeing them: `ensemble --best` compares on these.
        model.arrays["validation/probabilities"] = trained_head.predict_proba(X_val).astype(np.float32)
        model.arrays["validation/labels"] = y_val
        # Now the whitening, the head and the reference learn from the validation photos too.
        model.reference_labels = np.concatenate([y_train, y_val])
        if whiten:
            model.arrays["whitening/matrix"] = fit_whitening(everything, model.reference_labels)
        model.reference = model.features(everything)
        model.head = make_head().fit(model.reference, model.reference_labels, len(classes))
    if finetune is None:  # each photo scored by a head, a reference and a whitening fitted without it
        member, stranger = cross_validated_cues(make_head, everything, model.reference_labels, len(classes),
                                                whiten=whiten, seed=seed)
    else:  # the network learned from the training photos: only validation photos are unseen
        member, stranger = simulate_strangers(make_head, raw_train, y_train, raw_val, y_val, len(classes),
                                              whiten=whiten, seed=seed)
    score = StrangerScore.fit(member, stranger)
    model.threshold, curve = calibrate(score(member), score(stranger), max_member_rejection)
    log.seconds["fit"] = time.perf_counter() - fit_started
    model.arrays.update({**score.to_arrays(), **curve.to_arrays()})

    test_items = _without_copies(test_collection.items if test_collection is not None
                                 else [by_path[p] for p in split.test], learn, keys, log)
    if test_items:
        callback = progress("predicting test photos", len(test_items)) if progress else None
        results = model.extract_paths([i.path for i in test_items], cache=cache, progress=callback, keys=keys)
        predictions = [model.name_subjects(s) for s in results]
        truth = [index.get(i.label, -1) for i in test_items]
        log.evaluation = score_predictions(classes, [i.path for i in test_items], truth, predictions)
    log.seconds["total"] = time.perf_counter() - started
    val_paths = _kept(chosen, split.val, by_path, index)  # the rows of X_val
    reference_paths = _kept(chosen, split.train, by_path, index) + val_paths  # the rows of model.reference
    test_root = test_collection.root if test_collection is not None else collection.root
    digests = b"".join(bytes.fromhex(keys[item.path]) for item in learn if _is_digest(keys[item.path]))
    model.arrays["training/content_keys"] = np.frombuffer(digests, np.uint8).reshape(-1, 32)
    model.arrays["report/reference_boxes"] = np.array(
        [_chosen_box(subjects[by_path[p].path], chosen[by_path[p].path]) for p in reference_paths],
        np.float32).reshape(-1, 4)
    if log.evaluation is not None:
        model.arrays.update({"report/test_truth": log.evaluation.truth,
                             "report/test_predicted": log.evaluation.predicted,
                             "report/test_confidence": log.evaluation.confidence,
                             "report/test_boxes": log.evaluation.boxes})
    model.info = {
        "split": {**split.as_dict(), "root": str(collection.root), "test_dir": str(test_dir) if test_dir else None},
        "open_set_calibration": {"members": int(curve.n_members), "simulated_strangers": int(curve.n_strangers)},
        "training": {"photos_used": len(chosen), "notes": [n.__dict__ for n in log.notes],
                     "seconds": {k: round(v, 2) for k, v in log.seconds.items()}},
        "metrics": log.evaluation.to_dict() if log.evaluation else None,
        "validation": {"paths": val_paths},
        "subject": {"detector": detector,
                    "chosen_by": log.subject.reason if log.subject else "given"},
        "finetune": log.finetune.info() if log.finetune else None,
        "report": {"root": str(collection.root.resolve()), "reference_paths": reference_paths,
                   "test_root": str(test_root.resolve()),
                   "test_paths": [i.path.relative_to(test_root).as_posix() for i in test_items]},
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


def _is_digest(key: str) -> bool:
    """Whether a content key is a SHA-256 digest (an unreadable file keys by its path)."""
    return len(key) == 64 and all(c in "0123456789abcdef" for c in key)


def _filed_once(items: list[Item], keys: dict[Path, str]) -> list[Item]:
    """The photos of which no copy is filed under another member (the sample `--subject auto` scores)."""
    labels: dict[str, set[str]] = {}
    for item in items:
        labels.setdefault(keys[item.path], set()).add(item.label)
    return [item for item in items if len(labels[keys[item.path]]) == 1]


def _drop_conflicts(chosen: dict[Path, np.ndarray], items: list[Item], keys: dict[Path, str], log: TrainingLog
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


def _without_copies(test_items: list[Item], learned: list[Item], keys: dict[Path, str], log: TrainingLog
                    ) -> list[Item]:
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


def _chosen_box(found: Subjects, embedding: np.ndarray) -> np.ndarray:
    """The box of the face `_choose_faces` took from a photo (the one whose embedding it is)."""
    return found.faces[int(np.argmax(found.embeddings @ embedding))].box


def _kept(chosen: dict[Path, np.ndarray], relative: Sequence[str], by_path: dict, index: dict[str, int]
          ) -> list[str]:
    """The photos of `relative` that give a row: a subject was chosen in it and its class is known."""
    return [p for p in relative if by_path[p].path in chosen and by_path[p].label in index]


def _stack(chosen: dict[Path, np.ndarray], relative: Sequence[str], by_path: dict, index: dict[str, int]
           ) -> tuple[np.ndarray, np.ndarray]:
    kept = _kept(chosen, relative, by_path, index)
    if not kept:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64)
    return (np.stack([chosen[by_path[p].path] for p in kept]).astype(np.float32),
            np.array([index[by_path[p].label] for p in kept], np.int64))


def _resolve_subject(subject: str, detector: Optional[str], embedder: Optional[str], items: list[Item],
                     cache: Optional[EmbeddingCache], keys: dict[Path, str], log: TrainingLog) -> tuple[str, str]:
    """The detector and embedder: as given, else those of the subject (for "auto", the given embedder's kind,
    or the kind `choose_subject` finds best on a sample of `items`)."""
    if detector is not None and embedder is not None:
        return detector, embedder
    if subject == "auto" and embedder is not None:
        subject = "face" if embedder in FACE_EMBEDDERS else "image"
    if subject == "auto":
        log.subject = choose_subject(items, cache=cache, keys=keys)
        log.say(f"subject: {log.subject.reason}")
        subject = log.subject.subject
    if subject not in SUBJECTS:
        raise DatasetError(f"unknown subject {subject!r}: choose auto, {', '.join(SUBJECTS)}")
    return detector or SUBJECTS[subject][0], embedder or SUBJECTS[subject][1]


def _finetune(architecture: str, detector: str, classes: list[str], split: Split, by_path: dict,
              *, epochs: Optional[int], resume: bool, workers: Optional[int], seed: int,
              out: Optional[str | os.PathLike], cache: Optional[EmbeddingCache], log: TrainingLog) -> FinetuneResult:
    """Train `architecture` end to end on the subjects of the training photos; the best epoch's weights
    (the faces found are cached, for embedding the photos with the network afterwards)."""
    if architecture not in RECIPES:
        raise DatasetError(f"unknown network {architecture!r}: choose one of {', '.join(RECIPES)}")
    index = {c: k for k, c in enumerate(classes)}
    size = create_network(architecture, pretrained=False).spec.size
    finder = create_detector(detector)
    chips = {}
    for relative in split.train + split.val:
        item = by_path[relative]
        chip = subject_chip(item.path, finder, size, cache)
        if chip is not None and item.label in index:
            chips[relative] = chip
    train_keys = [p for p in split.train if p in chips]
    val_keys = [p for p in split.val if p in chips]

    def stack(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        y = np.array([index[by_path[p].label] for p in keys], np.int64)
        return (np.stack([chips[p] for p in keys]) if keys else np.zeros((0, size, size, 3), np.uint8)), y

    recipe = RECIPES[architecture].with_overrides(epochs=epochs)
    checkpoint = Path(f"{os.fspath(out)}.checkpoint") if out is not None else None
    log.say(f"fine-tuning {architecture} on {len(train_keys)} training and {len(val_keys)} validation photos "
            f"({recipe.optimizer}, lr {recipe.lr:g}, up to {recipe.epochs} epochs)")
    result = run_finetune(architecture, *stack(train_keys), *stack(val_keys), len(classes), recipe=recipe, seed=seed,
                          checkpoint=checkpoint, resume=resume, workers=workers, log=log.say)
    log.finetune = result
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return result
