"""How good a model is on photos it never saw: accuracy, per-class scores, confusion, strangers, and the
stranger threshold's trade-off on them."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.models.protocol import Namer
from whosthat.models.records import ClassScores, Metrics, TestRecord
from whosthat.recognition.assign import UNKNOWN
from whosthat.recognition.prediction import Predictions
from whosthat.training.folder import content_keys, scan, without_copies
from whosthat.training.tradeoff import (
    REJECTION_TARGETS,
    OperatingPoint,
    Tradeoff,
    TradeoffRow,
    member_scores,
    operating_points,
    rejection_thresholds,
    without_repeats,
)
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.extract import Subjects

#: Pseudo-label in `Evaluation.predicted` beside `UNKNOWN` (named nobody): no face was found, or unreadable.
NO_FACE = -2
#: The columns of the confusion matrix after the members'.
OTHER_COLUMNS = (UNKNOWN_LABEL, "no face")


@dataclass
class Evaluation:
    """Per-photo outcomes, scored on the largest face of each photo.

    truth: (n,) class index, or -1 for a photo of somebody outside the group (a stranger).
    predicted: (n,) class index, -1 unknown, -2 no face found or unreadable.
    top1: (n,) whether the true class is the most probable for the largest face, the stranger
        threshold aside (the closed-set accuracy that tutorials and most papers report).
    top2: (n,) whether the true class is among the two most probable for the largest face.
    among: (n,) whether the true class is among the names given to any face of the photo.
    rejected: (n,) whether the true class is named on no face while some face was called unknown
        (in a group shot the largest face may be a stranger, rightly unknown, beside the named member).
    boxes: (n, 4) box of the scored (largest) face, NaN where none was found.
    left_out: photos not scored because they are copies of photos the model learned from.
    tradeoff: the same photos' figures at other thresholds (`evaluate_subjects`), when they were computed.
    """

    classes: list[str]
    paths: list[str]
    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    top1: np.ndarray
    top2: np.ndarray
    among: np.ndarray
    rejected: np.ndarray
    boxes: Optional[np.ndarray] = None
    left_out: tuple[str, ...] = ()
    tradeoff: Optional[Tradeoff] = None

    @property
    def members(self) -> np.ndarray:
        return self.truth >= 0

    @property
    def accuracy(self) -> float:
        """Share of member photos whose largest face is named correctly."""
        return _mean(self.predicted[self.members] == self.truth[self.members])

    @property
    def top1_accuracy(self) -> float:
        """Share of member photos whose largest face's most probable name is right, unknown or not."""
        return _mean(self.top1[self.members])

    @property
    def top2_accuracy(self) -> float:
        return _mean(self.top2[self.members])

    @property
    def among_accuracy(self) -> float:
        """Share of member photos where the member is among the names given (group shots)."""
        return _mean(self.among[self.members])

    @property
    def members_rejected(self) -> float:
        """Share of member photos where the member went unnamed because a face was called unknown."""
        return _mean(self.rejected[self.members])

    @property
    def no_face(self) -> int:
        return int((self.predicted == NO_FACE).sum())

    @property
    def strangers_accepted(self) -> Optional[float]:
        """Share of stranger photos given a member's name (None when there were no strangers)."""
        strangers = self.truth == UNKNOWN
        return _mean(self.predicted[strangers] >= 0) if strangers.any() else None

    def confusion(self) -> np.ndarray:
        """(k, k + 2) counts: rows true member, columns predicted member, then unknown, then no face."""
        k = len(self.classes)
        matrix = np.zeros((k, k + 2), np.int64)
        for t, p in zip(self.truth, self.predicted):
            if t >= 0:
                matrix[t, p if p >= 0 else (k if p == UNKNOWN else k + 1)] += 1
        return matrix

    def per_class(self) -> list[ClassScores]:
        """Precision, recall, F1 and support of each class."""
        matrix = self.confusion()
        rows = []
        for c, name in enumerate(self.classes):
            tp = matrix[c, c]
            predicted = int((self.predicted == c).sum())
            support = int(matrix[c].sum())
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append(ClassScores(name, precision, recall, f1, support))
        return rows

    def metrics(self) -> Metrics:
        """The headline figures, for the model file and `--json`."""
        return Metrics(len(self.paths), self.accuracy, self.top1_accuracy, self.top2_accuracy, self.among_accuracy,
                       self.members_rejected, self.strangers_accepted, self.no_face, tuple(self.per_class()),
                       self.confusion(), (*self.classes, *OTHER_COLUMNS), tuple(self.left_out))

    def to_dict(self) -> dict:
        """The headline figures as JSON (`Metrics.to_dict`), and the trade-off's rows under "tradeoff"."""
        figures = self.metrics().to_dict()
        if self.tradeoff is not None:
            figures["tradeoff"] = self.tradeoff.to_dict()
        return figures

    def record(self, root: Path) -> TestRecord:
        """What a model file keeps of this evaluation of the photos under `root`."""
        paths = tuple(Path(p).relative_to(root).as_posix() for p in self.paths)
        return TestRecord(self.metrics(), str(root.resolve()), paths, self.truth, self.predicted, self.confidence,
                          self.boxes if self.boxes is not None else np.zeros((0, 4), np.float32))

    def format_text(self) -> str:
        """A readable report: headline figures, per-class table and confusion matrix (`Metrics.format_text`),
        then the trade-off's table."""
        text = self.metrics().format_text()
        return text if self.tradeoff is None else f"{text}\n\n{self.tradeoff.format_text()}"


def score_predictions(classes: Sequence[str], paths: Sequence[str | os.PathLike], truth: Sequence[int],
                      predictions: Sequence[Predictions]) -> Evaluation:
    """Score each photo's predictions against its true class index (-1 for a stranger)."""
    predicted, confidence, top1, top2, among, rejected, boxes = [], [], [], [], [], [], []
    for t, faces in zip(truth, predictions):
        if not faces:
            predicted.append(NO_FACE)
            confidence.append(0.0)
            top1.append(False)
            top2.append(False)
            among.append(False)
            rejected.append(False)
            boxes.append(np.full(4, np.nan, np.float32))
            continue
        largest = faces[0]
        boxes.append(np.asarray(largest.box, np.float32))
        predicted.append(classes.index(largest.label) if not largest.is_unknown else UNKNOWN)
        confidence.append(largest.confidence)
        best = [name for name, _ in largest.top(2)]
        top1.append(t >= 0 and classes[t] in best[:1])
        top2.append(t >= 0 and classes[t] in best)
        among.append(t >= 0 and classes[t] in faces.labels)
        rejected.append(t >= 0 and not among[-1] and any(face.is_unknown for face in faces))
    return Evaluation(list(classes), [str(p) for p in paths], np.asarray(truth, np.int64),
                      np.asarray(predicted, np.int64), np.asarray(confidence), np.asarray(top1), np.asarray(top2),
                      np.asarray(among), np.asarray(rejected), np.array(boxes, np.float32).reshape(-1, 4))


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def evaluate_subjects(model: Namer, paths: Sequence[str | os.PathLike], truth: Sequence[int],
                      subjects: Sequence[Subjects], *, threshold: Optional[float] = None,
                      targets: Sequence[float] = REJECTION_TARGETS) -> Evaluation:
    """Score photos already detected and embedded (true class index, -1 for a stranger) at `threshold` (None:
    the calibrated one), with their trade-off: the same figures at the calibrated threshold, at `threshold`
    and at thresholds that reject each of the `targets` shares of the member photos
    (`whosthat.training.tradeoff`)."""

    scored: dict[Optional[float], Evaluation] = {}

    def at(limit: Optional[float]) -> Evaluation:
        if limit not in scored:
            scored[limit] = score_predictions(model.classes, paths, truth,
                                              [model.name_subjects(s, threshold=limit) for s in subjects])
        return scored[limit]

    evaluation = at(threshold)
    scored[model.threshold if threshold is None else threshold] = evaluation
    member_photos = int(evaluation.members.sum())
    picked = rejection_thresholds(member_scores(model, truth, subjects), member_photos,
                                  lambda limit: at(limit).members_rejected, targets)
    rows = [_row(point, at(point.threshold)) for point in operating_points(model.threshold, threshold, picked)]
    evaluation.tradeoff = Tradeoff(without_repeats(rows), member_photos, int((evaluation.truth == UNKNOWN).sum()))
    return evaluation


def _row(point: OperatingPoint, evaluation: Evaluation) -> TradeoffRow:
    """The trade-off's row of an operating point: the photos' figures at its threshold."""
    return TradeoffRow(point, evaluation.accuracy, evaluation.among_accuracy, evaluation.members_rejected,
                       evaluation.strangers_accepted)


def evaluate_folder(model: Namer, folder: str | Path, *, cache: Optional[EmbeddingCache] = None,
                    threshold: Optional[float] = None,
                    progress: Optional[Callable[[str, int], Callable[[int], None]]] = None) -> Evaluation:
    """Evaluate a model on a folder per class; folders of classes the model does not know are strangers.

    Photos that are byte-identical copies of photos the model learned from are not scored (they are
    listed in `left_out`). threshold: the stranger threshold to use instead of the calibrated one
    (another point of the curve the report shows). The evaluation's `tradeoff` gives the same photos'
    figures at other thresholds (`evaluate_subjects`).
    """
    collection = scan(folder)
    learned = model.learned_keys()
    keys = content_keys(collection.items) if learned else {}
    items, copies = without_copies(collection.items, learned, keys)
    truth = [model.classes.index(item.label) if item.label in model.classes else UNKNOWN for item in items]
    callback = progress("predicting", len(items)) if progress else None
    paths = [i.path for i in items]
    results = list(model.extract_paths(paths, cache=cache, progress=callback, keys=keys))
    evaluation = evaluate_subjects(model, paths, truth, results, threshold=threshold)
    evaluation.left_out = tuple(str(item.path) for item in copies)
    return evaluation
