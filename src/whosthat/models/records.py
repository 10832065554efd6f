"""What a model file keeps about how the model was trained, as typed records that read and write themselves.

Each record's `to_bundle()` gives its JSON part and its named arrays; `from_bundle(meta, arrays)`
reads them back. `whosthat.models.model` nests them in the model file (formats 2 and 3); format-1 files are
turned into this form by `whosthat.models.migrate`, and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.arrays import nest, part
from whosthat.core.text import listed


@dataclass(frozen=True)
class Split:
    """Which photos train the head, calibrate it (validation) and measure it (test).

    Paths are relative to the collection root (POSIX form) so a model file names them portably.
    """

    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]
    seed: int

    def as_dict(self) -> dict:
        """JSON form for the model file."""
        return {"train": list(self.train), "val": list(self.val), "test": list(self.test), "seed": self.seed}


@dataclass(frozen=True)
class Note:
    """Something the user should know about one photo of the training folder.

    kind: "skipped", "strangers", "unreadable", "no face", "several faces", "conflicting labels",
    "copy of a training photo"; "others" for a photo of the others folder (`train --others`) left out.
    """

    path: str
    kind: str
    message: str


@dataclass(frozen=True)
class SplitRecord:
    """The split and where its paths are relative to: `root`, the training folder as given; `test_dir`,
    the test folder when the test photos were given apart."""

    split: Split
    root: str
    test_dir: Optional[str] = None

    def to_json(self) -> dict:
        return {**self.split.as_dict(), "root": self.root, "test_dir": self.test_dir}

    @classmethod
    def from_json(cls, data: Mapping) -> SplitRecord:
        split = Split(tuple(data["train"]), tuple(data["val"]), tuple(data["test"]), int(data["seed"]))
        return cls(split, data["root"], data.get("test_dir"))


@dataclass(frozen=True)
class PhotoOutcome:
    """One test photo as the model scored it: true and predicted class index (`whosthat.training.evaluate`), the
    probability of the name given, and the box of the scored face."""

    path: Path
    truth: int
    predicted: int
    confidence: float
    box: np.ndarray

    @property
    def wrong(self) -> bool:
        return self.predicted != self.truth and (self.truth >= 0 or self.predicted >= 0)


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class, and its number of test photos."""

    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """The headline figures of an evaluation, as `evaluate --json` prints them and model files keep them
    (the properties of `Evaluation` of the same names). top-1 and top-2 are None where a format-1 model
    file did not record them."""

    photos: int
    accuracy: float
    top1_accuracy: Optional[float]
    top2_accuracy: Optional[float]
    among_names_accuracy: float
    members_rejected: float
    strangers_accepted: Optional[float]
    no_face: int
    per_class: tuple[ClassScores, ...]
    confusion: np.ndarray
    confusion_columns: tuple[str, ...]
    left_out: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        """The JSON form (`from_dict` reads it back)."""
        return {
            "photos": self.photos, "accuracy": self.accuracy, "top1_accuracy": self.top1_accuracy,
            "top2_accuracy": self.top2_accuracy, "among_names_accuracy": self.among_names_accuracy,
            "members_rejected": self.members_rejected, "strangers_accepted": self.strangers_accepted,
            "no_face": self.no_face,
            "per_class": [{"class": c.name, "precision": c.precision, "recall": c.recall, "f1": c.f1,
                           "support": c.support} for c in self.per_class],
            "confusion": np.asarray(self.confusion).tolist(), "confusion_columns": list(self.confusion_columns),
            "left_out_as_training_copies": list(self.left_out),
        }

    def format_text(self) -> str:
        """A readable report: headline figures, per-class table and confusion matrix."""
        confusion = np.asarray(self.confusion)
        members = int(confusion.sum())
        strangers = self.photos - members
        lines = [f"photos: {self.photos} ({members} of members" + (f", {strangers} of strangers" if strangers else "")
                 + ")",
                 f"accuracy (largest face): {self.accuracy:.1%}",
                 f"member among the names given: {self.among_names_accuracy:.1%}"]
        if self.top1_accuracy is not None and self.top2_accuracy is not None:
            lines += [f"top-1 accuracy, the stranger threshold aside: {self.top1_accuracy:.1%}",
                      f"top-2 accuracy: {self.top2_accuracy:.1%}"]
        lines += [f"members called unknown: {self.members_rejected:.1%}", f"photos with no face found: {self.no_face}"]
        if self.left_out:
            lines.insert(0, f"left out: {len(self.left_out)} photo(s) the model learned from (the same files), which "
                            f"would flatter it: {listed(self.left_out)}")
        if self.strangers_accepted is not None:
            lines.append(f"strangers named as a member: {self.strangers_accepted:.1%}")
        columns = list(self.confusion_columns)
        width = max(len(c) for c in columns) + 2
        lines += ["", f"{'class':<{width}}precision  recall     f1  support"]
        for row in self.per_class:
            lines.append(f"{row.name:<{width}}{row.precision:>9.1%} {row.recall:>7.1%} {row.f1:>6.1%} "
                         f"{row.support:>8}")
        lines += ["", "confusion (rows: true, columns: predicted)",
                  " " * width + " ".join(f"{c[:7]:>7}" for c in columns)]
        for row, counts in zip(self.per_class, confusion):
            lines.append(f"{row.name:<{width}}" + " ".join(f"{v:>7}" for v in counts))
        return "\n".join(lines)

    @classmethod
    def from_dict(cls, data: dict) -> Metrics:
        """The metrics `to_dict` wrote."""
        return cls(data["photos"], data["accuracy"], data.get("top1_accuracy"), data.get("top2_accuracy"),
                   data["among_names_accuracy"], data["members_rejected"], data.get("strangers_accepted"),
                   data["no_face"],
                   tuple(ClassScores(r["class"], r["precision"], r["recall"], r["f1"], r["support"])
                         for r in data["per_class"]),
                   np.asarray(data["confusion"], np.int64), tuple(data["confusion_columns"]),
                   tuple(data.get("left_out_as_training_copies", ())))


@dataclass(frozen=True)
class TestRecord:
    """The test photos' figures and outcomes when the model was made (paths relative to `root`;
    `whosthat.training.evaluate.Evaluation.record` makes one)."""

    metrics: Metrics
    root: str
    paths: tuple[str, ...]
    truth: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    boxes: np.ndarray

    def outcomes(self) -> list[PhotoOutcome]:
        root = Path(self.root)
        return [PhotoOutcome(root / p, int(t), int(y), float(c), b)
                for p, t, y, c, b in zip(self.paths, self.truth, self.predicted, self.confidence, self.boxes)]

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"metrics": self.metrics.to_dict(), "root": self.root, "paths": list(self.paths)}
        return meta, {"truth": self.truth, "predicted": self.predicted, "confidence": self.confidence,
                      "boxes": self.boxes}

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> TestRecord:
        return cls(Metrics.from_dict(meta["metrics"]), meta["root"], tuple(meta["paths"]), arrays["truth"],
                   arrays["predicted"], arrays["confidence"], np.asarray(arrays["boxes"], np.float32).reshape(-1, 4))


@dataclass(frozen=True)
class ValidationRecord:
    """What the head made of the validation photos before it learned from them (`ensemble --best`
    compares models on these): paths relative to the training folder, (n, k) probabilities, class indices."""

    paths: tuple[str, ...]
    probabilities: np.ndarray
    labels: np.ndarray

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"paths": list(self.paths)}, {"probabilities": self.probabilities, "labels": self.labels}

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> ValidationRecord:
        return cls(tuple(meta["paths"]), arrays["probabilities"], arrays["labels"])


@dataclass(frozen=True)
class ReferencePhotos:
    """The photo and face box of each row of the recogniser's reference (for the report's map and the
    web page's member thumbnails): paths relative to `root`, the training folder, resolved."""

    root: str
    paths: tuple[str, ...]
    boxes: np.ndarray

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {"root": self.root, "paths": list(self.paths)}, {"boxes": self.boxes}

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> ReferencePhotos:
        return cls(meta["root"], tuple(meta["paths"]), np.asarray(arrays["boxes"], np.float32).reshape(-1, 4))


@dataclass(frozen=True)
class EpochStats:
    """Loss and accuracy of one fine-tuning epoch on the training chips (augmented) and the validation chips."""

    epoch: int
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class FinetuneLog:
    """How a network was fine-tuned: its recipe's settings, every epoch, the epoch whose weights were kept."""

    architecture: str
    recipe: Mapping
    history: tuple[EpochStats, ...]
    best_epoch: int
    stopped_early: bool
    device: str
    resumed_from: int = 0

    def to_json(self) -> dict:
        return {**asdict(self), "recipe": dict(self.recipe), "history": [asdict(e) for e in self.history]}

    @classmethod
    def from_json(cls, data: Mapping) -> FinetuneLog:
        return cls(data["architecture"], data["recipe"], tuple(EpochStats(**e) for e in data["history"]),
                   int(data["best_epoch"]), bool(data["stopped_early"]), data["device"],
                   int(data.get("resumed_from", 0)))


@dataclass(frozen=True)
class OthersRecord:
    """The photos of non-members a model learned from as negatives (`train --others`): the folder as given,
    the people in it, its photos, and the faces learned from (one per photo with a face, copies of
    members' photos left out)."""

    folder: str
    people: tuple[str, ...]
    photos: int
    faces: int

    def to_json(self) -> dict:
        return {"folder": self.folder, "people": list(self.people), "photos": self.photos, "faces": self.faces}

    @classmethod
    def from_json(cls, data: Mapping) -> OthersRecord:
        return cls(str(data["folder"]), tuple(data["people"]), int(data["photos"]), int(data["faces"]))


@dataclass(frozen=True)
class LearnedRecord:
    """What a model fitted again from faces given after training (a collection's corrections) learned beyond
    its training photos: where they came from, the faces learned as each member (new members included), and
    the faces learned as nobody of the group."""

    source: str
    confirmed: Mapping[str, int]
    negatives: int
    new_members: tuple[str, ...]

    def to_json(self) -> dict:
        return {"source": self.source, "confirmed": dict(self.confirmed), "negatives": self.negatives,
                "new_members": list(self.new_members)}

    @classmethod
    def from_json(cls, data: Mapping) -> LearnedRecord:
        return cls(str(data["source"]), {str(k): int(v) for k, v in data["confirmed"].items()},
                   int(data["negatives"]), tuple(data["new_members"]))


@dataclass(frozen=True)
class TrainingRecord:
    """How a model was trained.

    subject: the detector used and why (`--subject auto`'s reason, or "given"); content_keys: (n, 32)
    uint8 SHA-256 digests of the photos learned from (training and validation), so copies of them are
    not scored as new photos; seconds: time per stage; others: the non-members learned from as
    negatives, if any (files made without them have none); learned: what the model learned since from
    faces given after training, if it was fitted again (`whosthat.training.refit`).
    """

    split: SplitRecord
    notes: tuple[Note, ...]
    photos_used: int
    seconds: Mapping[str, float]
    detector: str
    subject_chosen_by: str
    reference_photos: ReferencePhotos
    content_keys: np.ndarray
    validation: Optional[ValidationRecord] = None
    test: Optional[TestRecord] = None
    finetune: Optional[FinetuneLog] = None
    others: Optional[OthersRecord] = None
    learned: Optional[LearnedRecord] = None

    def learned_keys(self) -> frozenset[str]:
        return frozenset(bytes(row).hex() for row in self.content_keys)

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta: dict = {"split": self.split.to_json(), "notes": [asdict(n) for n in self.notes],
                      "photos_used": self.photos_used, "seconds": dict(self.seconds),
                      "subject": {"detector": self.detector, "chosen_by": self.subject_chosen_by},
                      "finetune": self.finetune.to_json() if self.finetune else None}
        if self.others is not None:
            meta["others"] = self.others.to_json()
        if self.learned is not None:
            meta["learned"] = self.learned.to_json()
        arrays = {"content_keys": self.content_keys}
        for name, record in (("reference_photos", self.reference_photos), ("validation", self.validation),
                             ("test", self.test)):
            if record is not None:
                meta[name], record_arrays = record.to_bundle()
                arrays.update(nest(name, record_arrays))
        return meta, arrays

    @classmethod
    def from_bundle(cls, meta: Mapping, arrays: Mapping[str, np.ndarray]) -> TrainingRecord:
        validation, test = meta.get("validation"), meta.get("test")
        return cls(
            split=SplitRecord.from_json(meta["split"]), notes=tuple(Note(**n) for n in meta["notes"]),
            photos_used=int(meta["photos_used"]), seconds=meta["seconds"], detector=meta["subject"]["detector"],
            subject_chosen_by=meta["subject"]["chosen_by"],
            reference_photos=ReferencePhotos.from_bundle(meta["reference_photos"], part("reference_photos", arrays)),
            content_keys=np.asarray(arrays["content_keys"], np.uint8).reshape(-1, 32),
            validation=ValidationRecord.from_bundle(validation, part("validation", arrays)) if validation else None,
            test=TestRecord.from_bundle(test, part("test", arrays)) if test else None,
            finetune=FinetuneLog.from_json(meta["finetune"]) if meta.get("finetune") else None,
            others=OthersRecord.from_json(meta["others"]) if meta.get("others") else None,
            learned=LearnedRecord.from_json(meta["learned"]) if meta.get("learned") else None)
