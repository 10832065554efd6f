"""`Model`: a trained model, the detector and embedder that find and embed faces and the recogniser that names them."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.arrays import nest, part
from whosthat.core.errors import MissingWeightsError
from whosthat.models.file import write_bundle
from whosthat.models.naming import Naming
from whosthat.models.records import TestRecord, TrainingRecord
from whosthat.recognition.openset import Calibration
from whosthat.recognition.recogniser import Evidence, Recogniser, Reference
from whosthat.version import __version__
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import create_embedder
from whosthat.vision.extract import Extractor
from whosthat.vision.weights import WEIGHT_PACKAGES, installed_versions

#: `kind` of a single model in the model file's manifest.
KIND = "model"


@dataclass(frozen=True)
class Component:
    """A registered component by name with the keywords it is built with."""

    name: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"name": self.name, "params": self.params}


def build_extractor(detector: Component, embedder: Component, state: Optional[Mapping[str, np.ndarray]] = None
                    ) -> Extractor:
    """The detector and embedder the components name (`state`: a fine-tuned embedder's weights)."""
    params = {**embedder.params, **({"state": state} if state else {})}
    return Extractor(create_detector(detector.name, **detector.params), create_embedder(embedder.name, **params))


class Model(Naming):
    """Names the faces in photos: `detector` and `embedder` find and embed them, `recogniser` names them.

    embedder_state: the weights of a network fine-tuned on the training photos, when the embedder is
    one; training: how the model was trained (split, notes, test outcomes), kept in the model file;
    extractor: the detector and embedder already built from these components (else built on first use).
    """

    def __init__(self, detector: Component, embedder: Component, recogniser: Recogniser, *,
                 embedder_state: Optional[Mapping[str, np.ndarray]] = None,
                 training: Optional[TrainingRecord] = None, extractor: Optional[Extractor] = None) -> None:
        self.detector = detector
        self.embedder = embedder
        self.recogniser = recogniser
        self.embedder_state = dict(embedder_state or {})
        self.training = training
        self._extractor = extractor

    @property
    def classes(self) -> list[str]:
        return self.recogniser.classes_

    @property
    def threshold(self) -> float:
        return self.recogniser.threshold_

    @property
    def calibration(self) -> Optional[Calibration]:
        return self.recogniser.calibration_

    @property
    def reference(self) -> Reference:
        return self.recogniser.reference_

    @property
    def test(self) -> Optional[TestRecord]:
        return self.training.test if self.training is not None else None

    @property
    def description(self) -> str:
        return f"detector {self.detector.name}, embedder {self.embedder.name}, head {self.recogniser.head}"

    def pipeline(self) -> dict:
        """Detector, embedder and head by name with their settings."""
        return {"detector": self.detector.as_dict(), "embedder": self.embedder.as_dict(),
                "head": {"name": self.recogniser.head, "params": dict(self.recogniser.head_params or {})}}

    def extractor(self) -> Extractor:
        """The detector and embedder this model was trained with (built once, weights loaded lazily)."""
        if self._extractor is None:
            self._extractor = build_extractor(self.detector, self.embedder, self.embedder_state)
        return self._extractor

    def evidence(self, embeddings: np.ndarray) -> Evidence:
        """What the recogniser makes of (n, dim) embeddings for each class: probabilities, similarities, stranger
        scores."""
        return self.recogniser.evidence(embeddings)

    def learned_keys(self) -> frozenset[str]:
        """Content hashes (`cache.content_hash`) of the photos the model learned from, training and
        validation, so that copies of them can be told from new photos."""
        return self.training.learned_keys() if self.training is not None else frozenset()

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The manifest and arrays of the model file (`from_bundle` reads them back)."""
        recogniser, arrays = self.recogniser.to_bundle()
        arrays = {**nest("recogniser", arrays), **nest("embedder", self.embedder_state)}
        manifest = {"kind": KIND, "whosthat_version": __version__, "classes": self.classes,
                    "pipeline": {"detector": self.detector.as_dict(), "embedder": self.embedder.as_dict()},
                    "weights": installed_versions(),
                    "recogniser": recogniser, "training": None}
        if self.training is not None:
            manifest["training"], training = self.training.to_bundle()
            arrays.update(nest("training", training))
        return manifest, arrays

    @classmethod
    def from_bundle(cls, manifest: Mapping, arrays: Mapping[str, np.ndarray], path: str | os.PathLike = "") -> Model:
        """The model a format-2 manifest and its arrays describe (`path` names the file in warnings).
        Raises KeyError, TypeError or ValueError when they are incomplete: `whosthat.models.loading` says so."""
        pipeline = manifest["pipeline"]
        training = manifest.get("training")
        model = cls(Component(pipeline["detector"]["name"], pipeline["detector"]["params"]),
                    Component(pipeline["embedder"]["name"], pipeline["embedder"]["params"]),
                    Recogniser.from_bundle(manifest["recogniser"], part("recogniser", arrays)),
                    embedder_state=part("embedder", arrays),
                    training=TrainingRecord.from_bundle(training, part("training", arrays)) if training else None)
        _warn_on_weight_versions(path, manifest.get("weights", {}))
        return model

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (atomically: an interrupted save leaves any old file intact)."""
        return write_bundle(path, *self.to_bundle())

    def __repr__(self) -> str:
        return (f"Model(classes={self.classes}, detector={self.detector.name!r}, embedder={self.embedder.name!r}, "
                f"head={self.recogniser.head!r}, threshold={self.threshold:.3f})")


def _warn_on_weight_versions(path: str | os.PathLike, recorded: Mapping) -> None:
    """Warn when the installed weight packages differ from those the model was trained with."""
    for weights in WEIGHT_PACKAGES:
        version = recorded.get(weights.distribution)
        try:
            installed = weights.version()
        except MissingWeightsError:
            continue
        if version is not None and installed != version:
            warnings.warn(f"{path}: trained with {weights.distribution} {version}, installed is {installed}",
                          stacklevel=4)
