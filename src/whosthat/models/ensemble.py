"""`Ensemble`: several models of the same group in one model file, their probabilities averaged.

The members must find their subjects the same way (one detector), so that each face is seen
by every member; each member embeds it its own way. A face is a stranger when the members'
stranger scores, each taken relative to its own calibrated threshold, fall below zero on average.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.arrays import nest, part
from whosthat.core.errors import WhosthatError
from whosthat.models.file import write_bundle
from whosthat.models.model import Model
from whosthat.models.naming import Naming
from whosthat.models.records import TestRecord
from whosthat.recognition.recogniser import Evidence
from whosthat.version import __version__
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders.combined import Concatenated
from whosthat.vision.extract import Extractor

#: `kind` of an ensemble in the model file's manifest.
KIND = "ensemble"


class Ensemble(Naming):
    """Several models of one group in one: their probabilities averaged per face; `threshold` is a margin on
    their mean relative stranger score. `test`: its own test outcomes, when it was scored."""

    def __init__(self, members: Sequence[Model], threshold: float = 0.0, test: Optional[TestRecord] = None) -> None:
        if len(members) < 2:
            raise WhosthatError("an ensemble needs at least two models")
        classes = members[0].classes
        for member in members[1:]:
            if sorted(member.classes) != sorted(classes):
                raise WhosthatError(f"the models know different people: {classes} and {member.classes}")
            if member.detector != members[0].detector:
                raise WhosthatError(f"the models find their subjects differently ({members[0].detector.name} and "
                                    f"{member.detector.name}): an ensemble needs models of one --subject")
        self.members = list(members)
        self.detector = members[0].detector
        self._threshold = float(threshold)
        self.test = test
        self._columns = [np.array([m.classes.index(c) for c in classes]) for m in self.members]
        self._extractor: Optional[Extractor] = None

    @property
    def classes(self) -> list[str]:
        return self.members[0].classes

    @property
    def threshold(self) -> float:
        return self._threshold

    @property
    def description(self) -> str:
        return f"ensemble of {len(self.members)}: " + "; ".join(m.description for m in self.members)




    def pipeline(self) -> dict:
        """The shared detector; the members' embedders side by side; their probabilities averaged."""
        return {"detector": self.detector.as_dict(),
                "embedder": {"name": "+".join(m.embedder.name for m in self.members), "params": {}},
                "head": {"name": "mean of members", "params": {}}}

    def extractor(self) -> Extractor:
        """The shared detector, and every member's embedder side by side."""
        if self._extractor is None:
            parts = [m.extractor().embedder for m in self.members]
            self._extractor = Extractor(create_detector(self.detector.name, **self.detector.params),
                                        Concatenated(parts, renormalise=False))
        return self._extractor

    def evidence(self, embeddings: np.ndarray) -> Evidence:
        """The members' probabilities and similarities averaged; stranger scores as mean margins over their
        thresholds."""
        probabilities, similarity, margins = [], [], []
        start = 0
        for member, columns in zip(self.members, self._columns):
            dim = member.extractor().embedder.dim
            evidence = member.evidence(embeddings[:, start:start + dim])
            start += dim
            probabilities.append(evidence.probabilities[:, columns])
            similarity.append(evidence.similarity[:, columns])
            margins.append(evidence.stranger[:, columns] - member.threshold)
        return Evidence(np.mean(probabilities, axis=0), np.mean(similarity, axis=0), np.mean(margins, axis=0))

    def learned_keys(self) -> frozenset[str]:
        """The photos any member learned from."""
        return frozenset().union(*(m.learned_keys() for m in self.members))

    def to_bundle(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The manifest and arrays of the model file: each member's under `members/k/`."""
        manifest: dict = {"kind": KIND, "whosthat_version": __version__, "classes": self.classes,
                          "threshold": self.threshold, "members": [], "test": None}
        arrays: dict[str, np.ndarray] = {}
        for k, member in enumerate(self.members):
            member_manifest, member_arrays = member.to_bundle()
            manifest["members"].append(member_manifest)
            arrays.update(nest(f"members/{k}", member_arrays))
        if self.test is not None:
            manifest["test"], test = self.test.to_bundle()
            arrays.update(nest("test", test))
        return manifest, arrays

    @classmethod
    def from_bundle(cls, manifest: Mapping, arrays: Mapping[str, np.ndarray], path: str | os.PathLike = ""
                    ) -> Ensemble:
        """The ensemble a format-2 manifest and its arrays describe."""
        members = [Model.from_bundle(member, part(f"members/{k}", arrays), path)
                   for k, member in enumerate(manifest["members"])]
        test = manifest.get("test")
        return cls(members, threshold=manifest["threshold"],
                   test=TestRecord.from_bundle(test, part("test", arrays)) if test else None)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the model file (atomically)."""
        return write_bundle(path, *self.to_bundle())

    def __repr__(self) -> str:
        return f"Ensemble({len(self.members)} models: {', '.join(repr(m) for m in self.members)})"


