"""Accuracy and speed of whosthat on the shared datasets, side by side with the face_recognition library.

What it measures, per data set and method (embedder/head, or face_recognition's k-NN example):

- accuracy: member photos whose largest face is named correctly;
- top-1: member photos whose largest face's most probable name is right, the stranger threshold
  aside (closed-set accuracy, what the tutorials report; for face_recognition, the k-NN's name
  before its distance tolerance);
- member among names: member photos where the member is among the names given (group shots);
- members rejected: member photos where the member is named on no face and a face was called
  "unknown" (in a group shot the largest face may be somebody else, rightly unknown);
- strangers accepted: from the stranger test below, photos of a held-out class whose held-out
  member got a member's name: the face that the model of the first task (which knows them)
  names as them, else the largest face;
- train cold / warm s: time to embed the training photos and fit, with an empty embedding cache,
  then again with the same cache (which must re-embed nothing);
- ms per photo: one `Model.predict` on a 1024-px photo with one face, median over 10 photos after
  a first call that is not counted.

The splits: blackpink/photos with whosthat's default stratified split (seed 0); kpop15/train in
5 stratified folds (mean over folds); celebrity5 trained on train/ and tested on val/. The stranger
test holds out whole classes in turn (every class of each set, on its first task), trains on
the others and predicts the same test photos, the held-out class's being strangers. face_recognition
is used as its README and `examples/face_recognition_knn.py` do (HOG detector, training photos with
not exactly one face skipped, k-NN with k = round(sqrt(n)), distance tolerance 0.6), trained on the
same training and validation photos (it has no calibration step) and tested on the same photos.

Run from the repository root (several minutes cold, the first time every photo is embedded):

    .venv/bin/python bench/accuracy.py
    .venv/bin/python bench/accuracy.py --embedder facenet+dlib --head svm --head knn --no-reference
    .venv/bin/python bench/accuracy.py --quick          # smoke run: fewer folds and photos
    .venv/bin/python bench/accuracy.py --embedder arcface:~/.insightface/models/buffalo_l/w600k_r50.onnx \
        --embedder facenet+dlib --no-reference      # with an InsightFace model of your own (not shipped)
    .venv/bin/python bench/accuracy.py --embedder facenet+dlib --no-reference \
        --max-member-rejection 0.02 --max-member-rejection 0.1    # two operating points of the threshold

`--cache-dir DIR` keeps the embedding caches (one per set and embedder) for a later run, whose
cold column is then left empty (its first training only fills in what the cache lacks, e.g. after
a change of the pipeline's settings); by default they live in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from whosthat.models.model import Model
from whosthat.models.records import Split
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION
from whosthat.recognition.prediction import UNKNOWN_LABEL, Prediction, Predictions
from whosthat.training import TrainingLog, train
from whosthat.training.evaluate import UNKNOWN, Evaluation, score_predictions
from whosthat.training.folder import Item, TrainingFolder, class_name, content_keys, scan, stratified_split
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders.spec import spec_argument
from whosthat.vision.images import load_image

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EMBEDDERS = ("facenet", "dlib", "facenet+dlib")
SETS = ("blackpink", "kpop15", "celebrity5")
SEED = 0
FOLDS = 5
TIMING_PHOTOS = 11  # the first call is not counted
TOLERANCE = 0.6  # face_recognition's distance threshold


@dataclass(frozen=True)
class Task:
    """One experiment: train on `split` of `folder`, test on `split.test` or on the photos of `test_dir`."""

    folder: Path
    split: Split
    test_dir: Optional[Path] = None

    def without(self, label: str) -> Task:
        """The same task with `label` left out of training: its test photos become strangers."""
        def keep(paths: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(p for p in paths if _label_of(p) != label)
        return replace(self, split=replace(self.split, train=keep(self.split.train), val=keep(self.split.val)))

    def learn_items(self) -> list[Item]:
        """The training and validation photos."""
        return [Item(self.folder / p, _label_of(p)) for p in self.split.train + self.split.val]

    def test_items(self) -> list[Item]:
        """The test photos, labelled with their class folder."""
        if self.test_dir is not None:
            return scan(self.test_dir).items
        return [Item(self.folder / p, _label_of(p)) for p in self.split.test]


@dataclass(frozen=True)
class Benchmark:
    """A data set: the tasks scored (their mean is reported) and the classes held out in turn."""

    name: str
    tasks: list[Task]
    held_out: list[str]

    def stranger_tasks(self) -> list[Task]:
        return [self.tasks[0].without(label) for label in self.held_out]


@dataclass
class Row:
    """One line of the accuracy table."""

    set: str
    method: str
    accuracy: float
    top1_accuracy: float
    member_among_names: float
    members_rejected: float
    strangers_accepted: float
    train_cold_s: Optional[float]
    train_warm_s: Optional[float]
    ms_per_photo: float
    warm_reembedded: Optional[int] = None


@dataclass
class StrangerRow:
    """One line of the stranger-test table: counts pooled over the held-out classes."""

    set: str
    method: str
    held_out_classes: int
    stranger_photos: int
    strangers_accepted: float
    member_photos: int
    members_rejected: float
    member_accuracy: float


# ---------------------------------------------------------------------------------------- data sets

def _label_of(relative: str) -> str:
    """The class of a photo given by its path relative to the collection root."""
    return class_name(relative.split("/", 1)[0])


def _limited(collection: TrainingFolder, per_class: Optional[int]) -> TrainingFolder:
    """The collection with at most `per_class` photos of each class (all when None)."""
    if per_class is None:
        return collection
    items = [i for c in collection.classes for i in [x for x in collection.items if x.label == c][:per_class]]
    return TrainingFolder(collection.root, collection.classes, items)


def _relative(collection: TrainingFolder, items: Sequence[Item]) -> tuple[str, ...]:
    return tuple(sorted(i.path.relative_to(collection.root).as_posix() for i in items))


def train_split(collection: TrainingFolder, test_fraction: float = 0.2) -> Split:
    """The split `whosthat train` makes of a folder (seed SEED; byte-identical copies in one part)."""
    return stratified_split(collection, test_fraction=test_fraction, seed=SEED, keys=content_keys(collection.items))


def kfold_splits(collection: TrainingFolder, folds: int, seed: int) -> list[Split]:
    """Stratified folds: each fold is the test once; the rest splits into train and ~15 % validation.
    Byte-identical copies (kpop15's `x(1).jpg` pairs) share a fold, so no test photo has a copy in training."""
    rng = np.random.default_rng(seed)
    keys = content_keys(collection.items)
    fold_of: dict[Path, int] = {}
    for label in collection.classes:
        copies: dict[str, list[Path]] = {}
        for item in collection.items:
            if item.label == label:
                copies.setdefault(keys[item.path], []).append(item.path)
        units = list(copies.values())
        for k, index in enumerate(rng.permutation(len(units))):
            fold_of.update({path: k % folds for path in units[index]})
    splits = []
    for k in range(folds):
        rest = TrainingFolder(collection.root, collection.classes,
                              [i for i in collection.items if fold_of[i.path] != k])
        inner = stratified_split(rest, val_fraction=0.15, test_fraction=0.0, seed=seed, keys=keys)
        test = _relative(collection, [i for i in collection.items if fold_of[i.path] == k])
        splits.append(Split(inner.train, inner.val, test, seed))
    return splits


def build_benchmark(name: str, root: Path, quick: bool) -> Benchmark:
    """The tasks and held-out classes of a data set (`quick`: fewer photos, folds and held-out classes)."""
    per_class = 25 if quick else None
    if name == "blackpink":
        collection = _limited(scan(root / "blackpink/photos"), per_class)
        tasks = [Task(collection.root, train_split(collection))]
        held_out = collection.classes
    elif name == "kpop15":
        collection = _limited(scan(root / "kpop15/train"), per_class)
        splits = kfold_splits(collection, FOLDS, SEED)[:2 if quick else FOLDS]
        tasks = [Task(collection.root, s) for s in splits]
        held_out = collection.classes
    elif name == "celebrity5":
        collection = scan(root / "celebrity5/train")
        tasks = [Task(collection.root, train_split(collection, test_fraction=0.0), root / "celebrity5/val")]
        held_out = collection.classes
    else:
        raise ValueError(f"unknown set {name!r}; choose from {', '.join(SETS)}")
    return Benchmark(name, tasks, held_out[:2] if quick else held_out)


def timing_photos(root: Path, count: int) -> list[Path]:
    """Blackpink photos whose longer side is 1024 px and in which YuNet finds exactly one face."""
    detector = create_detector("yunet")
    chosen: list[Path] = []
    for item in scan(root / "blackpink/photos").items:
        with Image.open(item.path) as image:
            if max(image.size) != 1024:
                continue
        if len(detector.detect(load_image(item.path))) == 1:
            chosen.append(item.path)
            if len(chosen) == count:
                break
    return chosen


def median_ms(call: Callable[[Path], object], photos: Sequence[Path]) -> float:
    """Median milliseconds of `call` per photo, the first call not counted."""
    call(photos[0])
    times = []
    for photo in photos[1:]:
        started = time.perf_counter()
        call(photo)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


# ------------------------------------------------------------------------------------------ scoring

@dataclass
class Tally:
    """Pooled counts over several evaluations (the stranger test)."""

    strangers: int = 0
    accepted: int = 0
    members: int = 0
    rejected: int = 0
    correct: int = 0

    def add(self, evaluation: Evaluation, strangers_named: Sequence[bool]) -> None:
        """One held-out class: the members of its evaluation, and whether each of its photos got a name."""
        members = evaluation.truth >= 0
        self.strangers += len(strangers_named)
        self.accepted += sum(strangers_named)
        self.members += int(members.sum())
        self.rejected += int(evaluation.rejected[members].sum())
        self.correct += int((evaluation.predicted[members] == evaluation.truth[members]).sum())

    def row(self, set_name: str, method: str, runs: int) -> StrangerRow:
        return StrangerRow(set_name, method, runs, self.strangers, _share(self.accepted, self.strangers),
                           self.members, _share(self.rejected, self.members), _share(self.correct, self.members))


def stranger_named(known: Sequence[str], held_out: Sequence[str], label: str) -> bool:
    """Whether the held-out member's face got a member's name, from the names of a photo's faces (largest
    first, the same detector) by a model that knows them and by one trained without them. Their face is
    the one the first names as them (a group shot filed under them holds other members, rightly named),
    else the largest."""
    face = known.index(label) if label in known else 0
    return face < len(held_out) and held_out[face] != UNKNOWN_LABEL


def stranger_test(method: Whosthat | Reference, known: object, benchmark: Benchmark) -> Tally:
    """Each class held out in turn: its test photos, named by `method` trained without it, are strangers;
    `known` is the method's model of the first task (trained with every class)."""
    items = benchmark.tasks[0].test_items()
    tally = Tally()
    for label, task in zip(benchmark.held_out, benchmark.stranger_tasks()):
        held_out_model, evaluation, _ = method.run(task)
        photos = [i for i in items if i.label == label]
        tally.add(evaluation, [stranger_named(k, h, label) for k, h in zip(method.names_of(known, photos),
                                                                           method.names_of(held_out_model, photos))])
    return tally


def _share(part: int, whole: int) -> float:
    return part / whole if whole else float("nan")


def mean_scores(evaluations: Sequence[Evaluation]) -> tuple[float, float, float, float]:
    """Accuracy, top-1 accuracy, member among names and members rejected, each the mean over the evaluations."""
    return (float(np.mean([e.accuracy for e in evaluations])),
            float(np.mean([e.top1_accuracy for e in evaluations])),
            float(np.mean([e.among_accuracy for e in evaluations])),
            float(np.mean([e.members_rejected for e in evaluations])))


# ----------------------------------------------------------------------------------------- whosthat

def cache_writes(cache_dir: Path) -> int:
    """How many rows were ever written to the cache (SQLite's largest rowid; 0 when there is none)."""
    path = cache_dir / "embeddings.sqlite3"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT coalesce(max(rowid), 0) FROM subjects").fetchone()[0])


@dataclass(frozen=True)
class Whosthat:
    """whosthat with one embedder and head, its embeddings cached in `cache_dir`."""

    embedder: str
    head: str
    cache_dir: Path
    whiten: Optional[bool] = None
    max_member_rejection: float = DEFAULT_MAX_MEMBER_REJECTION

    @property
    def name(self) -> str:
        return (f"whosthat {self.embedder}/{self.head}" + (" (no whitening)" if self.whiten is False else "")
                + (f" (members rejected in calibration <= {self.max_member_rejection:.0%})"
                   if self.max_member_rejection != DEFAULT_MAX_MEMBER_REJECTION else ""))

    def run(self, task: Task) -> tuple[Model, Evaluation, float]:
        """Train on the task; the model, its test evaluation and the training seconds (embedding and fit)."""
        log = TrainingLog()
        model = train(task.folder, split=task.split, test_dir=task.test_dir, embedder=self.embedder,
                      head=self.head, whiten=self.whiten, max_member_rejection=self.max_member_rejection,
                      cache_dir=self.cache_dir, log=log)
        return model, log.evaluation, log.seconds["embedding"] + log.seconds["fit"]

    def names_of(self, model: Model, items: Sequence[Item]) -> list[list[str]]:
        """The names the model gives each photo's faces, largest first (embeddings from the cache)."""
        cache = EmbeddingCache(self.cache_dir)
        try:
            found = model.extract_paths([i.path for i in items], cache=cache)
            return [model.name_subjects(s).labels for s in found]
        finally:
            cache.close()


def bench_whosthat(method: Whosthat, benchmark: Benchmark, photos: Sequence[Path]) -> tuple[Row, StrangerRow]:
    """Score whosthat on a set: cold and warm training, folds, speed, then the stranger test."""
    fresh = cache_writes(method.cache_dir) == 0
    seconds = method.run(benchmark.tasks[0])[2]  # fills the cache: cold when it started empty
    cold = seconds if fresh else None
    filled = cache_writes(method.cache_dir)
    model, first, warm = method.run(benchmark.tasks[0])
    reembedded = cache_writes(method.cache_dir) - filled
    evaluations = [first] + [method.run(task)[1] for task in benchmark.tasks[1:]]
    ms = median_ms(model.predict, photos)
    tally = stranger_test(method, model, benchmark)
    row = Row(benchmark.name, method.name, *mean_scores(evaluations), _share(tally.accepted, tally.strangers),
              cold, warm, ms, reembedded)
    return row, tally.row(benchmark.name, method.name, len(benchmark.held_out))


# --------------------------------------------------------------------------------- face_recognition

class Reference:
    """face_recognition's k-NN example: HOG faces, 128-d encodings, k-NN with a distance tolerance.

    Encodings are kept per path for the whole run, so only a photo's first use computes them.
    """

    name = "face_recognition knn"

    def __init__(self) -> None:
        from PIL import ImageFile

        strict = ImageFile.LOAD_TRUNCATED_IMAGES
        import face_recognition  # sets Pillow's process-wide LOAD_TRUNCATED_IMAGES = True on import
        ImageFile.LOAD_TRUNCATED_IMAGES = strict  # whosthat, in this process too, refuses truncated files
        self.fr = face_recognition
        self.faces: dict[Path, tuple[list[tuple[int, int, int, int]], np.ndarray]] = {}

    def encode(self, path: Path) -> tuple[list[tuple[int, int, int, int]], np.ndarray]:
        """Face locations (top, right, bottom, left) and encodings of a photo, as the example finds them."""
        if path not in self.faces:
            image = self.fr.load_image_file(path)
            locations = self.fr.face_locations(image)
            self.faces[path] = (locations, np.array(self.fr.face_encodings(image, known_face_locations=locations)))
        return self.faces[path]

    def fit(self, items: Sequence[Item]):
        """The k-NN classifier on the training photos with exactly one face (the example's rule)."""
        from sklearn.neighbors import KNeighborsClassifier
        X, y = [], []
        for item in items:
            locations, encodings = self.encode(item.path)
            if len(locations) == 1:
                X.append(encodings[0])
                y.append(item.label)
        knn = KNeighborsClassifier(n_neighbors=int(round(math.sqrt(len(X)))), algorithm="ball_tree",
                                   weights="distance")
        return knn.fit(X, y)

    def predictions(self, knn, locations: Sequence[tuple[int, int, int, int]], encodings: np.ndarray,
                    source: str = "") -> Predictions:
        """Each face's name, largest first: the k-NN's, or "unknown" beyond the tolerance (the example's
        predict); its probabilities are the k-NN's distance-weighted votes, its similarity 1 - distance."""
        if not len(locations):
            return Predictions([], source, 0, 0)
        distances = knn.kneighbors(encodings, n_neighbors=1)[0][:, 0]
        faces = []
        for (top, right, bottom, left), votes, distance in zip(locations, knn.predict_proba(encodings), distances):
            best = int(np.argmax(votes))
            label = str(knn.classes_[best]) if distance <= TOLERANCE else UNKNOWN_LABEL
            faces.append(Prediction(np.array([left, top, right, bottom], np.float32), 1.0, label,
                                    float(votes[best]) if label != UNKNOWN_LABEL else float(1 - votes[best]),
                                    {str(c): float(v) for c, v in zip(knn.classes_, votes)}, float(1 - distance)))
        areas = [(bottom - top) * (right - left) for top, right, bottom, left in locations]
        order = np.argsort([-a for a in areas], kind="stable")
        return Predictions([faces[i] for i in order], source, 0, 0)

    def names_of(self, knn, items: Sequence[Item]) -> list[list[str]]:
        """The names the classifier gives each photo's faces, largest first."""
        return [self.predictions(knn, *self.encode(i.path)).labels for i in items]

    def predict_path(self, knn, path: Path) -> Predictions:
        """A fresh prediction on a photo (no encodings kept): what the speed column times."""
        image = self.fr.load_image_file(path)
        locations = self.fr.face_locations(image)
        encodings = np.array(self.fr.face_encodings(image, known_face_locations=locations))
        return self.predictions(knn, locations, encodings, str(path))

    def run(self, task: Task):
        """Train and score on a task, as whosthat is scored; the classifier, evaluation and training seconds."""
        started = time.perf_counter()
        knn = self.fit(task.learn_items())
        seconds = time.perf_counter() - started
        classes = [str(c) for c in knn.classes_]
        items = task.test_items()
        truth = [classes.index(i.label) if i.label in classes else UNKNOWN for i in items]
        predictions = [self.predictions(knn, *self.encode(i.path), str(i.path)) for i in items]
        return knn, score_predictions(classes, [i.path for i in items], truth, predictions), seconds


def bench_reference(reference: Reference, benchmark: Benchmark, photos: Sequence[Path]) -> tuple[Row, StrangerRow]:
    """Score face_recognition on a set; its training is always cold (it keeps no cache)."""
    runs = [reference.run(task) for task in benchmark.tasks]
    knn, _, cold = runs[0]
    ms = median_ms(lambda p: reference.predict_path(knn, p), photos)
    tally = stranger_test(reference, knn, benchmark)
    row = Row(benchmark.name, reference.name, *mean_scores([r[1] for r in runs]),
              _share(tally.accepted, tally.strangers), cold, None, ms)
    return row, tally.row(benchmark.name, reference.name, len(benchmark.held_out))


# ------------------------------------------------------------------------------------------- output

def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return str(value)


def markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; text columns left-aligned, numbers right-aligned."""
    align = [":---" if i < 2 else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def percent(value: Optional[float]) -> Optional[str]:
    return None if value is None or math.isnan(value) else f"{value:.1%}"


def _secs(value: Optional[float]) -> Optional[str]:
    return None if value is None else f"{value:.1f}"


def _json_row(row: Row | StrangerRow) -> dict:
    """A row as JSON values: NaN (nothing to measure) becomes null."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(row).items()}


def accuracy_table(rows: Sequence[Row]) -> str:
    header = ["set", "method", "accuracy", "top-1", "member among names", "members rejected", "strangers accepted",
              "train cold s", "train warm s", "ms per photo"]
    return markdown(header, [[r.set, r.method, percent(r.accuracy), percent(r.top1_accuracy),
                              percent(r.member_among_names), percent(r.members_rejected), percent(r.strangers_accepted),
                              _secs(r.train_cold_s), _secs(r.train_warm_s), f"{r.ms_per_photo:.0f}"] for r in rows])


def stranger_table(rows: Sequence[StrangerRow]) -> str:
    header = ["set", "method", "held-out classes", "stranger photos", "strangers accepted", "member photos",
              "members rejected", "member accuracy"]
    return markdown(header, [[r.set, r.method, r.held_out_classes, r.stranger_photos, percent(r.strangers_accepted),
                              r.member_photos, percent(r.members_rejected), percent(r.member_accuracy)] for r in rows])


# --------------------------------------------------------------------------------------------- main

def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedder", action="append", type=spec_argument, metavar="SPEC",
                        help="repeatable: what train --embedder takes (arcface:PATH, arcface+facenet+dlib, ...); "
                             f"default: {', '.join(EMBEDDERS)}")
    parser.add_argument("--head", action="append", help="repeatable; default: logistic")
    parser.add_argument("--sets", nargs="+", choices=SETS, default=list(SETS))
    parser.add_argument("--no-reference", action="store_true", help="skip the face_recognition library")
    parser.add_argument("--also-unwhitened", action="store_true",
                        help="also run each whosthat method without its within-class whitening (train --no-whiten)")
    parser.add_argument("--max-member-rejection", type=float, action="append", metavar="FRACTION",
                        help="repeatable: train's --max-member-rejection, the operating point of the stranger "
                             f"threshold (default: {DEFAULT_MAX_MEMBER_REJECTION})")
    parser.add_argument("--quick", action="store_true", help="fewer folds, photos and held-out classes (smoke run)")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"default: {DATASETS}")
    parser.add_argument("--cache-dir", type=Path, help="keep the embedding caches here (default: a temporary dir)")
    parser.add_argument("--json-out", type=Path, help="also write the tables as JSON to this file")
    args = parser.parse_args(argv)
    args.embedder = args.embedder or list(EMBEDDERS)
    args.head = args.head or ["logistic"]
    args.max_member_rejection = args.max_member_rejection or [DEFAULT_MAX_MEMBER_REJECTION]
    return args


def run(args: argparse.Namespace, cache_root: Path) -> tuple[list[Row], list[StrangerRow]]:
    """Every (set, method) of the arguments, in order, with progress on stderr."""
    photos = timing_photos(args.datasets, 6 if args.quick else TIMING_PHOTOS)
    reference = None if args.no_reference else Reference()
    rows: list[Row] = []
    strangers: list[StrangerRow] = []
    for set_name in args.sets:
        benchmark = build_benchmark(set_name, args.datasets, args.quick)
        methods: list[Whosthat | Reference] = [Whosthat(e, h, cache_root / f"{set_name}-{e}", whiten, rejection)
                                               for e in args.embedder for h in args.head
                                               for whiten in ((None, False) if args.also_unwhitened else (None,))
                                               for rejection in args.max_member_rejection]
        methods += [reference] if reference is not None else []
        for method in methods:
            bench = bench_reference if isinstance(method, Reference) else bench_whosthat
            started = time.perf_counter()
            row, stranger = bench(method, benchmark, photos)
            print(f"{row.set} {row.method}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            rows.append(row)
            strangers.append(stranger)
    return rows, strangers


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="whosthat-bench-") as temporary:
        rows, strangers = run(args, args.cache_dir or Path(temporary))
    wall, loads = time.perf_counter() - started, (load, os.getloadavg()[0])
    print(accuracy_table(rows), "", stranger_table(strangers), "",
          f"wall time: {wall:.0f} s; load average at start and end: {loads[0]:.1f}, {loads[1]:.1f} "
          f"on {os.cpu_count()} CPUs", sep="\n")
    for row in rows:
        if row.warm_reembedded:
            print(f"warning: {row.set} {row.method}: the warm run re-embedded {row.warm_reembedded} photos")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps({
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "accuracy": [_json_row(r) for r in rows], "strangers": [_json_row(r) for r in strangers],
            "wall_s": round(wall, 1), "load_average": loads}, indent=2, default=str))


if __name__ == "__main__":
    main()
