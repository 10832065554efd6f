"""`--subject`: human faces, whole pictures or drawn characters, and `auto`, which tries each on a sample."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np

from whosthat.cache import EmbeddingCache
from whosthat.dataset import Item
from whosthat.embedders import create_embedder
from whosthat.heads import cross_val_proba
from whosthat.pipeline import Extractor
from whosthat.subjects.base import create_detector

#: The detector and embedder of each kind of subject, in the order `auto` prefers them on a tie.
SUBJECTS: dict[str, tuple[str, str]] = {
    "face": ("yunet", "facenet+dlib"),
    "image": ("whole", "mobilenetv2+efficientnet-lite0"),
    "character": ("character", "mobilenetv2+efficientnet-lite0"),
}
#: Embedders made for human faces (the others see any picture).
FACE_EMBEDDERS = frozenset({"facenet", "dlib", "facenet+dlib"})
SAMPLE_PER_CLASS = 8
SAMPLE_MAX = 80
#: Folds of the cross-validation that compares the kinds of subject on the sample.
CV_FOLDS = 3
#: A sample whose faces are named this well is taken for people without trying the other kinds.
CLEARLY_FACES = 0.8


@dataclass(frozen=True)
class SubjectChoice:
    """The kind of subject picked for a collection, and why (cross-validated accuracy of each on a sample)."""

    subject: str
    reason: str
    scores: dict[str, float]

    @property
    def detector(self) -> str:
        return SUBJECTS[self.subject][0]

    @property
    def embedder(self) -> str:
        return SUBJECTS[self.subject][1]


def choose_subject(items: Sequence[Item], *, cache: Optional[EmbeddingCache] = None, seed: int = 0
                   ) -> SubjectChoice:
    """Pick the kind of subject (`SUBJECTS`) that names a sample of these training photos best.

    Up to eight photos per class are embedded each way (through the cache, so the chosen way's
    work is reused by training) and scored by 3-fold cross-validated logistic regression; a photo
    where no face is found counts as a miss for "face". Drawn characters often have faces YuNet
    finds, so finding faces alone does not decide it; but when faces name the sample at least
    `CLEARLY_FACES` well, the other kinds are not tried (people are the common case).
    """
    sample = _sample(items, seed)
    labels = sorted({i.label for i in sample})
    y = np.array([labels.index(i.label) for i in sample])
    scores = {}
    embedders = {name: create_embedder(name) for name in {e for _, e in SUBJECTS.values()}}  # each network loaded once
    for subject, (detector, embedder) in SUBJECTS.items():
        extractor = Extractor(create_detector(detector), embedders[embedder], cache=cache)
        found = list(extractor.extract_paths([i.path for i in sample]))
        has = np.array([s.error is None and len(s.faces) > 0 for s in found])
        vectors = [s.embeddings[int(np.argmax([f.area for f in s.faces]))] if h else None for s, h in zip(found, has)]
        scores[subject] = _cross_validated(vectors, y, has, len(labels), seed)
        if subject == "face" and scores[subject] >= CLEARLY_FACES:
            return SubjectChoice("face", f"face: {scores[subject]:.0%} of {len(sample)} sample photos named right "
                                         "by their faces (cross-validated)", scores)
    order = list(SUBJECTS)
    subject = max(scores, key=lambda s: (round(scores[s], 6), -order.index(s)))
    others = ", ".join(f"{scores[s]:.0%} as {s}" for s in order if s != subject)
    reason = (f"{subject}: {scores[subject]:.0%} of {len(sample)} sample photos named right "
              f"(cross-validated) against {others}")
    return SubjectChoice(subject, reason, scores)


def _sample(items: Sequence[Item], seed: int) -> list[Item]:
    by_class: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_class[item.label].append(item)
    rng = np.random.default_rng(seed)
    per_class = max(2, min(SAMPLE_PER_CLASS, SAMPLE_MAX // max(1, len(by_class))))
    sample = []
    for label in sorted(by_class):
        group = by_class[label]
        picks = rng.choice(len(group), size=min(per_class, len(group)), replace=False)
        sample += [group[k] for k in sorted(picks)]
    return sample


def _cross_validated(vectors: list[Optional[np.ndarray]], y: np.ndarray, has: np.ndarray, n_classes: int,
                     seed: int) -> float:
    """Share of the sample a head trained on the other folds names right (no subject found: wrong).

    A class with one usable photo cannot be named by a head that never saw it, so it costs
    every kind of subject alike instead of voiding the comparison.
    """
    usable = np.flatnonzero(has)
    if len(np.unique(y[usable])) < 2:
        return 0.0
    X = np.stack([vectors[k] for k in usable])
    probabilities = cross_val_proba("logistic", X, y[usable], n_classes, folds=CV_FOLDS, seed=seed)
    return int((probabilities.argmax(axis=1) == y[usable]).sum()) / len(y)
