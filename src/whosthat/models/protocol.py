"""`Namer`: what evaluation, the report, the web service and the command line need of a trained model.

A single `whosthat.models.model.Model` and a `whosthat.models.ensemble.Ensemble` of several both provide it;
`whosthat.models.loading.load` reads either from a model file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol

import numpy as np

from whosthat.recognition.prediction import Predictions
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.images import ImageSource

if TYPE_CHECKING:
    from whosthat.models.records import TestRecord
    from whosthat.recognition.recogniser import Evidence
    from whosthat.vision.extract import Extractor, Subjects


class Namer(Protocol):
    """Names every face in photos with one of `classes` or "unknown"."""

    @property
    def classes(self) -> list[str]:
        """The members' names."""
        ...

    @property
    def threshold(self) -> float:
        """The stranger threshold `Evidence.stranger` is compared with."""
        ...

    @property
    def description(self) -> str:
        """Detector, embedder and head in a few words, for summaries."""
        ...


    @property
    def test(self) -> Optional[TestRecord]:
        """The test photos' outcomes recorded when the model was made, if any."""
        ...



    @property
    def pipeline_identity(self) -> str:
        """What its faces and embeddings depend on: caches and indexes key on it."""
        ...

    def pipeline(self) -> dict:
        """Detector, embedder and head by name with their settings."""
        ...

    def extractor(self) -> Extractor:
        """The detector and embedder that find and embed the faces."""
        ...

    def extract(self, image: ImageSource, *, keep_image: bool = False) -> Subjects: ...

    def extract_paths(self, paths: Iterable[Path], *, cache: Optional[EmbeddingCache] = None,
                      progress: Optional[Callable[[int], None]] = None,
                      keys: Optional[Mapping[Path, str]] = None, keep_images: bool = False) -> Iterator[Subjects]: ...

    def evidence(self, embeddings: np.ndarray) -> Evidence: ...

    def name_subjects(self, subjects: Subjects, *, threshold: Optional[float] = None) -> Predictions: ...

    def predict(self, image: ImageSource, *, threshold: Optional[float] = None) -> Predictions: ...

    def predict_paths(self, paths: Iterable[Path], *, threshold: Optional[float] = None,
                      keep_images: bool = False) -> Iterator[Predictions]: ...

    def learned_keys(self) -> frozenset[str]:
        """Content hashes of the photos it learned from (so that copies of them are not scored as new)."""
        ...

    def save(self, path: str | os.PathLike) -> Path: ...
