"""Ensembles made from trained models: the combinations ranked on their shared validation photos, and the
ensemble scored on its members' shared test photos."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.errors import WhosthatError
from whosthat.models.ensemble import Ensemble
from whosthat.models.model import Model
from whosthat.models.records import TestRecord
from whosthat.training.evaluate import evaluate_folder, score_predictions
from whosthat.training.folder import class_name
from whosthat.vision.cache import EmbeddingCache


def evaluate_shared_test(ensemble: Ensemble, cache: Optional[EmbeddingCache] = None) -> Optional[TestRecord]:
    """The ensemble scored on its members' test photos, when they all held out the same ones and they are there."""
    splits = [m.training.split if m.training is not None else None for m in ensemble.members]
    first = splits[0]
    if first is None or any(s is None or (s.root, s.split.test, s.test_dir) != (first.root, first.split.test,
                                                                                  first.test_dir) for s in splits):
        return None
    if first.test_dir and Path(first.test_dir).is_dir():
        return evaluate_folder(ensemble, first.test_dir, cache=cache).record(Path(first.test_dir))
    paths = [Path(first.root) / p for p in first.split.test]
    if not paths or not all(p.is_file() for p in paths):
        return None
    truth = [ensemble.classes.index(c) if (c := class_name(Path(p).parent.name)) in ensemble.classes else -1
             for p in paths]
    results = ensemble.extract_paths(paths, cache=cache)
    evaluation = score_predictions(ensemble.classes, paths, truth, [ensemble.name_subjects(s) for s in results])
    return evaluation.record(Path(first.root))


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
    validation = model.training.validation if model.training is not None else None
    if model.training is None or validation is None or len(validation.paths) != len(validation.probabilities):
        raise WhosthatError(f"{model.embedder.name} model: no validation predictions kept (trained with no "
                            "validation photos): train it again with some to compare it")
    root = model.training.split.root
    return {f"{root}/{p}": (row, model.classes[int(label)])
            for p, row, label in zip(validation.paths, validation.probabilities, validation.labels)}
