"""`Ensemble`: several models of the same group in one model file, their probabilities averaged.

The members must find their subjects the same way (one detector), so that each face is seen
by every member; each member embeds it its own way. A face is a stranger when the members'
stranger scores, each taken relative to its own calibrated threshold, fall below zero on average.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.cache import EmbeddingCache
from whosthat.dataset import class_name
from whosthat.embedders.combined import Concatenated
from whosthat.errors import ModelFileError, WhosthatError
from whosthat.evaluate import Evaluation, evaluate_folder, score_predictions
from whosthat.model import Component, Model
from whosthat.pipeline import Extractor
from whosthat.subjects import create_detector


class Ensemble(Model):
    """Members' probabilities averaged per face; `threshold` is a margin on their mean relative stranger score."""

    def __init__(self, members: Sequence[Model], threshold: float = 0.0, info: Optional[dict] = None) -> None:
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
        self._columns = [np.array([m.classes.index(c) for c in classes]) for m in self.members]
        super().__init__(classes, members[0].detector, Component("ensemble", {"members": len(members)}), head=None,
                         reference=np.zeros((0, 0)), reference_labels=np.zeros(0), threshold=threshold, info=info)

    def extractor(self) -> Extractor:
        """The shared detector, and every member's embedder side by side."""
        if self._extractor is None:
            parts = [m.extractor().embedder for m in self.members]
            self._extractor = Extractor(create_detector(self.detector.name, **self.detector.params),
                                        Concatenated(parts, renormalise=False))
        return self._extractor

    def score(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The members' probabilities and similarities averaged; stranger scores as mean margins over thresholds."""
        probabilities, similarity, margins = [], [], []
        start = 0
        for member, columns in zip(self.members, self._columns):
            dim = member.extractor().embedder.dim
            p, s, scores = member.score(embeddings[:, start:start + dim])
            start += dim
            probabilities.append(p[:, columns])
            similarity.append(s[:, columns])
            margins.append(scores[:, columns] - member.threshold)
        return np.mean(probabilities, axis=0), np.mean(similarity, axis=0), np.mean(margins, axis=0)

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, n_classes) mean of the members' probabilities."""
        return self.score(embeddings)[0]

    def learned_keys(self) -> frozenset[str]:
        """The photos any member learned from."""
        return frozenset().union(*(m.learned_keys() for m in self.members))

    def pipeline(self) -> dict:
        return {"detector": self.detector.as_dict(), "embedder": self.embedder.as_dict(),
                "head": {"name": "mean of members", "params": {}}}

    def manifest(self) -> dict:
        return {**super().manifest(), "ensemble": {"members": [m.manifest() for m in self.members]}}

    def bundle_arrays(self) -> dict[str, np.ndarray]:
        return {f"members/{k}/{name}": v for k, m in enumerate(self.members) for name, v in m.bundle_arrays().items()}

    @classmethod
    def from_bundle(cls, path: str | os.PathLike, manifest: dict, arrays: dict[str, np.ndarray]) -> Ensemble:
        try:
            members = []
            for k, member in enumerate(manifest["ensemble"]["members"]):
                prefix = f"members/{k}/"
                members.append(Model.from_bundle(path, member, {name[len(prefix):]: v for name, v in arrays.items()
                                                                if name.startswith(prefix)}))
            info = {key: manifest[key] for key in ("metrics", "split") if key in manifest}
            return cls(members, threshold=manifest["open_set"]["threshold"], info=info)
        except (KeyError, TypeError, IndexError) as error:
            raise ModelFileError(f"{path}: corrupt ensemble model file (missing or bad {error})") from None

    def __repr__(self) -> str:
        return f"Ensemble({len(self.members)} models: {', '.join(repr(m) for m in self.members)})"


def evaluate_shared_test(ensemble: Ensemble, cache: Optional[EmbeddingCache] = None) -> Optional[Evaluation]:
    """The ensemble scored on its members' test photos, when they all held out the same ones and they are there."""
    splits = [m.info.get("split") or {} for m in ensemble.members]
    first = splits[0]
    if any((s.get("root"), s.get("test"), s.get("test_dir")) != (first.get("root"), first.get("test"),
                                                                   first.get("test_dir")) for s in splits):
        return None
    if first.get("test_dir") and Path(first["test_dir"]).is_dir():
        return evaluate_folder(ensemble, first["test_dir"], cache=cache)
    paths = [Path(first.get("root", "")) / p for p in first.get("test") or []]
    if not paths or not all(p.is_file() for p in paths):
        return None
    truth = [ensemble.classes.index(c) if (c := class_name(Path(p).parent.name)) in ensemble.classes else -1
             for p in paths]
    results = ensemble.extract_paths(paths, cache=cache)
    return score_predictions(ensemble.classes, paths, truth, [ensemble.name_subjects(s) for s in results])


@dataclass(frozen=True)
class Combination:
    """Some of the given models (their positions) and how well their averaged probabilities named the
    validation photos they all held out, as their heads saw them before learning from them."""

    members: tuple[int, ...]
    accuracy: float
    photos: int


def rank_combinations(models: Sequence[Model], min_members: int = 2) -> list[Combination]:
    """Every combination of at least `min_members` of `models` that share a detector, best validation accuracy
    first (on a tie, fewer members: a smaller ensemble is faster). The models must share validation photos."""
    classes = models[0].classes
    if any(sorted(model.classes) != sorted(classes) for model in models):
        raise WhosthatError("the models know different people")
    votes = [_validation_votes(model) for model in models]
    shared = set.intersection(*(set(v) for v in votes))
    if not shared:
        raise WhosthatError("the models share no validation photos (were they trained on one split of one folder?)")
    photos = sorted(shared)
    truth = np.array([classes.index(votes[0][p][1]) for p in photos])
    probabilities = [np.stack([v[p][0] for p in photos])[:, [model.classes.index(c) for c in classes]]
                     for model, v in zip(models, votes)]
    ranked = []
    for size in range(min_members, len(models) + 1):
        for members in itertools.combinations(range(len(models)), size):
            if any(models[k].detector != models[members[0]].detector for k in members):
                continue  # an ensemble's members find their subjects one way
            mean = np.mean([probabilities[k] for k in members], axis=0)
            ranked.append(Combination(members, float(np.mean(mean.argmax(1) == truth)), len(photos)))
    return sorted(ranked, key=lambda c: (-c.accuracy, len(c.members)))


def _validation_votes(model: Model) -> dict[str, tuple[np.ndarray, str]]:
    """Validation photo -> (the head's probabilities before it learned from it, in the model's class order;
    the photo's class name)."""
    paths = (model.info.get("validation") or {}).get("paths")
    probabilities = model.arrays.get("validation/probabilities")
    if paths is None or probabilities is None or len(paths) != len(probabilities):
        raise WhosthatError(f"{model.embedder.name} model: no validation predictions kept (trained with no "
                            "validation photos, or by an older whosthat): train it again to compare it")
    labels = model.arrays["validation/labels"]
    root = (model.info.get("split") or {}).get("root", "")
    return {f"{root}/{p}": (row, model.classes[int(label)]) for p, row, label in zip(paths, probabilities, labels)}
