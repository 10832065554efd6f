"""From a model's evidence to names: every face of one photo named, each member given to at most one face; and
`Naming`, the finding, embedding and naming that `Model` and `Ensemble` do the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional, cast

import numpy as np

from whosthat.core.errors import check_threshold
from whosthat.models.protocol import Namer
from whosthat.recognition.assign import UNKNOWN, assign_labels, named_class
from whosthat.recognition.prediction import UNKNOWN_LABEL, Prediction, Predictions
from whosthat.vision.extract import Subjects

if TYPE_CHECKING:
    from whosthat.vision.cache import EmbeddingCache
    from whosthat.vision.extract import Extractor
    from whosthat.vision.images import ImageSource


def name_subjects(namer: Namer, subjects: Subjects, *, threshold: Optional[float] = None) -> Predictions:
    """The predictions for one photo's subjects, already detected and embedded, largest face first.

    threshold: the stranger threshold to use instead of the namer's calibrated one (a finite number).
    """
    check_threshold(threshold)
    if subjects.error is not None:
        return Predictions([], subjects.source, subjects.width, subjects.height, error=subjects.error)
    order = np.argsort([-face.area for face in subjects.faces], kind="stable")
    faces = [subjects.faces[i] for i in order]
    embeddings = subjects.embeddings[order]
    evidence = namer.evidence(embeddings)
    limit = namer.threshold if threshold is None else threshold
    labels = assign_labels(evidence.probabilities, evidence.stranger >= limit)
    classes = namer.classes
    predictions = []
    for face, embedding, label, p, s in zip(faces, embeddings, labels, evidence.probabilities, evidence.similarity):
        cue, confidence = named_class(p, label)
        predictions.append(Prediction(
            box=face.box, detection_score=face.score, label=UNKNOWN_LABEL if label == UNKNOWN else classes[label],
            confidence=confidence, probabilities={c: float(v) for c, v in zip(classes, p)}, similarity=float(s[cue]),
            landmarks=face.landmarks, embedding=embedding))
    return Predictions(predictions, subjects.source, subjects.width, subjects.height, image=subjects.image)


class Naming:
    """Faces found, embedded and named through the model's `extractor()` and `evidence()` (a `Namer`): what a
    single model and an ensemble do alike, written once."""

    def extractor(self) -> Extractor:
        raise NotImplementedError

    @property
    def pipeline_identity(self) -> str:
        """What its faces and embeddings depend on (detector and embedder with their settings and versions): the
        key under which caches and indexes keep them."""
        return self.extractor().identity

    def extract(self, image: ImageSource, *, keep_image: bool = False) -> Subjects:
        """The subjects of one image and their embeddings (no cache). Raises `ImageError`."""
        return self.extractor().extract(image, keep_image=keep_image)

    def extract_paths(self, paths: Iterable[Path], *, cache: Optional[EmbeddingCache] = None,
                      progress: Optional[Callable[[int], None]] = None,
                      keys: Optional[Mapping[Path, str]] = None, keep_images: bool = False) -> Iterator[Subjects]:
        """The subjects of many image files, in order (`Extractor.extract_paths`: unreadable files come out
        with `error` set, `cache` is read and written, `keys` are content hashes already taken)."""
        return self.extractor().extract_paths(paths, cache=cache, progress=progress, keys=keys,
                                              keep_images=keep_images)

    def predict_paths(self, paths: Iterable[Path], *, threshold: Optional[float] = None,
                      keep_images: bool = False) -> Iterator[Predictions]:
        """`predict` for many image files, in order: read and detected in threads, their faces embedded in
        batches (`extract_paths`), so that a folder goes through faster than photo by photo. An unreadable file
        comes out with `error` set. keep_images: keep each photo in its predictions (to `annotate`)."""
        check_threshold(threshold)
        for subjects in self.extract_paths(paths, keep_images=keep_images):
            yield self.name_subjects(subjects, threshold=threshold)

    def name_subjects(self, subjects: Subjects, *, threshold: Optional[float] = None) -> Predictions:
        """Predictions for subjects already detected and embedded by `extractor()`."""
        return name_subjects(cast(Namer, self), subjects, threshold=threshold)

    def predict(self, image: ImageSource, *, threshold: Optional[float] = None) -> Predictions:
        """Every face in the photo with its name (or "unknown"), largest face first.

        threshold: the stranger threshold to use instead of the calibrated one (on the scale of
        `Evidence.stranger`, a log-odds; higher calls more faces unknown).
        Raises `ImageError` for an unreadable image.
        """
        return self.name_subjects(self.extract(image, keep_image=True), threshold=threshold)
