"""`Model`: a trained recogniser (detector, embedder, head, stranger threshold) that names faces."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat import __version__
from whosthat.assign import UNKNOWN, assign_labels
from whosthat.bundle import read_bundle, write_bundle
from whosthat.cache import EmbeddingCache
from whosthat.embedders import create_embedder
from whosthat.errors import MissingWeightsError, ModelFileError
from whosthat.heads import Head, create_head
from whosthat.images import ImageSource
from whosthat.openset import StrangerScore, ThresholdCurve, stranger_cues
from whosthat.pipeline import Extractor, Subjects
from whosthat.prediction import UNKNOWN_LABEL, Prediction, Predictions
from whosthat.recogniser import Evidence
from whosthat.subjects import create_detector
from whosthat.weights import WEIGHT_PACKAGES
from whosthat.whitening import whiten


@dataclass(frozen=True)
class Component:
    """A registered component by name with the keywords it is built with."""

    name: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "params": self.params}


class Model:
    """Names the faces in photos.

    classes: the members' names; head: the fitted classifier; reference / reference_labels: the
    training embeddings the stranger test compares faces with; threshold: the stranger threshold
    (on the score of `stranger_score`); info: split, metrics and training notes kept in the model
    file; arrays: what else the model learned (whitening, stranger score, report data).
    """

    def __init__(self, classes: list[str], detector: Component, embedder: Component, head: Head,
                 reference: np.ndarray, reference_labels: np.ndarray, threshold: float,
                 info: Optional[dict] = None, arrays: Optional[dict[str, np.ndarray]] = None) -> None:
        self.classes = list(classes)
        self.detector = detector
        self.embedder = embedder
        self.head = head
        self.reference = np.asarray(reference, np.float32)
        self.reference_labels = np.asarray(reference_labels, np.int64)
        self.threshold = float(threshold)
        self.info = info or {}
        self.arrays = arrays or {}
        self._extractor: Optional[Extractor] = None

    def extractor(self) -> Extractor:
        """The detector and embedder this model was trained with (built once, weights loaded lazily)."""
        if self._extractor is None:
            trained = {k.split("/", 1)[1]: v for k, v in self.arrays.items() if k.startswith("embedder/")}
            params = {**self.embedder.params, **({"state": trained} if trained else {})}
            self._extractor = Extractor(create_detector(self.detector.name, **self.detector.params),
                                        create_embedder(self.embedder.name, **params))
        return self._extractor

    @property
    def pipeline_identity(self) -> str:
        """What this model's faces and embeddings depend on (detector and embedder with their settings and
        versions): the key under which caches and indexes keep them."""
        return self.extractor().identity

    def extract(self, image: ImageSource, *, keep_image: bool = False) -> Subjects:
        """The subjects of one image and their embeddings (no cache). Raises `ImageError`."""
        return self.extractor().extract(image, keep_image=keep_image)

    def extract_paths(self, paths: Iterable[Path], *, cache: Optional[EmbeddingCache] = None,
                      progress: Optional[Callable[[int], None]] = None,
                      keys: Optional[Mapping[Path, str]] = None) -> Iterator[Subjects]:
        """The subjects of many image files, in order (`Extractor.extract_paths`: unreadable files come out
        with `error` set, `cache` is read and written, `keys` are content hashes already taken)."""
        return self.extractor().extract_paths(paths, cache=cache, progress=progress, keys=keys)

    def features(self, embeddings: np.ndarray) -> np.ndarray:
        """Embeddings in the space the head and the reference live in: whitened when the model learned a
        within-class whitening (`whosthat.whitening`), else as they are."""
        matrix = self.arrays.get("whitening/matrix")
        return embeddings if matrix is None or not len(embeddings) else whiten(embeddings, matrix)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_classes) head probabilities for (n, dim) embeddings."""
        return self.head.predict_proba(self.features(embeddings))

    def predict(self, image: ImageSource, *, threshold: Optional[float] = None) -> Predictions:
        """Every face in the photo with its name (or "unknown"), largest face first.

        threshold: the stranger threshold to use instead of the calibrated one (on the scale of
        `stranger_score`, a log-odds; higher calls more faces unknown).
        Raises `ImageError` for an unreadable image.
        """
        subjects = self.extract(image, keep_image=True)
        return self.name_subjects(subjects, threshold=threshold)

    def name_subjects(self, subjects: Subjects, *, threshold: Optional[float] = None) -> Predictions:
        """Predictions for subjects already detected and embedded."""
        if subjects.error is not None:
            return Predictions([], subjects.source, subjects.width, subjects.height, error=subjects.error)
        order = np.argsort([-face.area for face in subjects.faces], kind="stable")
        faces = [subjects.faces[i] for i in order]
        probabilities, similarity, scores = self.score(subjects.embeddings[order])
        limit = self.threshold if threshold is None else threshold
        labels = assign_labels(probabilities, scores >= limit)
        predictions = []
        for face, label, p, s in zip(faces, labels, probabilities, similarity):
            best = int(p.argmax())
            name = UNKNOWN_LABEL if label == UNKNOWN else self.classes[label]
            confidence = float(1 - p[best]) if label == UNKNOWN else float(p[label])
            predictions.append(Prediction(
                box=face.box, detection_score=face.score, label=name, confidence=confidence,
                probabilities={c: float(v) for c, v in zip(self.classes, p)},
                similarity=float(s[best if label == UNKNOWN else label]), landmarks=face.landmarks))
        return Predictions(predictions, subjects.source, subjects.width, subjects.height, image=subjects.image)

    @property
    def stranger_score(self) -> StrangerScore:
        """How a face's cues for a class make its stranger score (`whosthat.openset`), as calibrated in training."""
        return StrangerScore.from_arrays(self.arrays)

    def threshold_curve(self) -> Optional[ThresholdCurve]:
        """The stranger curve the threshold was chosen from in training; None for files without one."""
        counts = self.info.get("open_set_calibration") or {}
        return ThresholdCurve.from_arrays(self.arrays, counts.get("members", 0), counts.get("simulated_strangers", 0))

    def evidence(self, embeddings: np.ndarray) -> Evidence:
        """What the model makes of (n, dim) embeddings for each class: probabilities, similarities, stranger scores."""
        return Evidence(*self.score(embeddings))

    def score(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, n_classes) probabilities, similarity to each class's closest training photo, and stranger scores."""
        X = self.features(embeddings)
        probabilities = self.head.predict_proba(X) if len(X) else np.zeros((0, len(self.classes)))
        cues = stranger_cues(probabilities, X, self.reference, self.reference_labels)
        return probabilities, cues[..., 1], self.stranger_score(cues)

    def pipeline(self) -> dict:
        """Detector, embedder and head by name with their settings (as the model file records them)."""
        return {"detector": self.detector.as_dict(), "embedder": self.embedder.as_dict(),
                "head": {"name": self.head.name, "params": self.head.get_params()}}

    def manifest(self) -> dict:
        """The JSON half of the model file."""
        return {
            "whosthat_version": __version__,
            "classes": self.classes,
            "pipeline": self.pipeline(),
            "weights": {f.distribution: f.version() for f in WEIGHT_PACKAGES if f.installed()},
            "open_set": {"threshold": self.threshold},
            **self.info,
        }

    def learned_keys(self) -> frozenset[str]:
        """Content hashes (`cache.content_hash`) of the photos the model learned from, training and
        validation, so that copies of them can be told from new photos; empty for model files made
        before they were kept."""
        digests = self.arrays.get("training/content_keys")
        return frozenset(bytes(row).hex() for row in digests) if digests is not None else frozenset()

    def bundle_arrays(self) -> dict[str, np.ndarray]:
        """The array half of the model file."""
        arrays = {f"head/{k}": v for k, v in self.head.get_state().items()}
        arrays.update({"reference/X": self.reference, "reference/y": self.reference_labels, **self.arrays})
        return arrays

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (atomically: an interrupted save leaves any old file intact)."""
        return write_bundle(path, self.manifest(), self.bundle_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> Model:
        """Read a model file (a single model or an ensemble); `ModelFileError` when it is foreign, corrupt or newer."""
        manifest, arrays = read_bundle(path)
        if "ensemble" in manifest:
            from whosthat.ensemble import Ensemble

            return Ensemble.from_bundle(path, manifest, arrays)
        return cls.from_bundle(path, manifest, arrays)

    @classmethod
    def from_bundle(cls, path: str | os.PathLike, manifest: dict, arrays: dict[str, np.ndarray]) -> Model:
        """The model a manifest and its arrays describe (`path` names the file in errors)."""
        try:
            pipeline = manifest["pipeline"]
            head = create_head(pipeline["head"]["name"], **pipeline["head"]["params"])
            head.set_state({k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("head/")})
            info_keys = set(manifest) - {"format", "format_version", "whosthat_version", "classes", "pipeline",
                                         "weights", "open_set"}
            model = cls(
                classes=manifest["classes"],
                detector=Component(pipeline["detector"]["name"], pipeline["detector"]["params"]),
                embedder=Component(pipeline["embedder"]["name"], pipeline["embedder"]["params"]),
                head=head, reference=arrays["reference/X"], reference_labels=arrays["reference/y"],
                threshold=manifest["open_set"]["threshold"], info={k: manifest[k] for k in info_keys},
                arrays={k: v for k, v in arrays.items() if not k.startswith(("head/", "reference/"))},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ModelFileError(f"{path}: corrupt model file (missing or bad {error})") from None
        _warn_on_weight_versions(path, manifest.get("weights", {}))
        return model

    def __repr__(self) -> str:
        return (f"Model(classes={self.classes}, detector={self.detector.name!r}, embedder={self.embedder.name!r}, "
                f"head={self.head.name!r}, threshold={self.threshold:.3f})")


def _warn_on_weight_versions(path: str | os.PathLike, recorded: dict) -> None:
    """Warn when the installed weight packages differ from those the model was trained with."""
    for weights in WEIGHT_PACKAGES:
        version = recorded.get(weights.distribution)
        try:
            installed = weights.version()
        except MissingWeightsError:
            continue
        if version is not None and installed != version:
            warnings.warn(f"{path}: trained with {weights.distribution} {version}, installed is {installed}",
                          stacklevel=3)


def load(path: str | os.PathLike) -> Model:
    """Read a model file written by `Model.save` or `whosthat train`."""
    return Model.load(path)
