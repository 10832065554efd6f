"""`--subject`: human faces, whole pictures or drawn characters, and `auto`, which tries each on a sample."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from whosthat.recognition.heads import cross_val_proba
from whosthat.training.folder import Item, content_keys
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import create_embedder


@dataclass(frozen=True)
class SubjectKind:
    """What a kind of subject is found and embedded with: a detector and an embedder spec, by name."""

    detector: str
    embedder: str


#: The detector and embedder of each kind of subject, in the order `auto` prefers them on a tie.
#: `character` comes before `image`: on crops the two name the sample alike, but only `character`
#: also copes with whole scenes later, and it falls back to the whole picture when it finds no face
#: (bench/README.md, "Settings and what chose them").
SUBJECTS: dict[str, SubjectKind] = {
    "face": SubjectKind("yunet", "facenet+dlib"),
    "character": SubjectKind("character", "mobilenetv2+efficientnet-lite0"),
    "image": SubjectKind("whole", "mobilenetv2+efficientnet-lite0"),
}
#: Photos per class in the sample, and at most in all: fewer made the choice depend on the split's
#: seed (bench/README.md, "Settings and what chose them").
SAMPLE_PER_CLASS = 16
SAMPLE_MAX = 160
#: Folds of the cross-validation that compares the kinds of subject on the sample.
CV_FOLDS = 3
#: A sample whose faces are named this well is taken for people without trying the other kinds.
CLEARLY_FACES = 0.8
#: Shares of the sample named right that differ by less than this count as a tie, which goes to the
#: kind first in `SUBJECTS`: the sample cannot tell them apart (bench/README.md, "Settings and what
#: chose them").
TIE = 0.05


@dataclass(frozen=True)
class SubjectChoice:
    """The kind of subject picked for a collection, and why (cross-validated accuracy of each on a sample)."""

    subject: str
    reason: str
    scores: dict[str, float]

    @property
    def detector(self) -> str:
        return SUBJECTS[self.subject].detector

    @property
    def embedder(self) -> str:
        return SUBJECTS[self.subject].embedder


def choose_subject(items: Sequence[Item], *, cache: Optional[EmbeddingCache] = None,
                   keys: Optional[Mapping[Path, str]] = None) -> SubjectChoice:
    """Pick the kind of subject (`SUBJECTS`) that names a sample of these training photos best.

    Up to `SAMPLE_PER_CLASS` photos per class are embedded each way (through the cache, so the
    chosen way's work is reused by training) and scored by 3-fold cross-validated logistic
    regression; a photo where no face is found counts as a miss for "face"; scores within `TIE`
    of each other count as a tie, won by the kind listed first. Drawn characters often have faces YuNet
    finds, so finding faces alone does not decide it; but when faces name the sample at least
    `CLEARLY_FACES` well, the other kinds are not tried (people are the common case).
    The sample is drawn by content hash (`keys`, from `dataset.content_keys`, taken here when not
    given), so the same photos give the same choice whatever their order, names or training seed:
    models trained with other seeds on one folder can then be ensembled.
    """
    from whosthat.vision import extract  # the networks load here, not when `--help` lists the subjects

    keys = keys if keys is not None else content_keys(items)
    sample = _sample(items, keys)
    labels = sorted({i.label for i in sample})
    y = np.array([labels.index(i.label) for i in sample])
    scores = {}
    # each network loaded once, whichever kinds share it, and only when a kind needs it (faces usually decide)
    embedders: dict[str, Any] = {}
    for subject, kind in SUBJECTS.items():
        detector, embedder = kind.detector, kind.embedder
        if embedder not in embedders:
            embedders[embedder] = create_embedder(embedder)
        extractor = extract.Extractor(create_detector(detector), embedders[embedder])
        found = list(extractor.extract_paths([i.path for i in sample], cache=cache, keys=keys))
        has = np.array([s.error is None and len(s.faces) > 0 for s in found])
        vectors = [s.embeddings[int(np.argmax([f.area for f in s.faces]))] if h else None for s, h in zip(found, has)]
        scores[subject] = _cross_validated(vectors, y, has, len(labels))
        if subject == "face" and scores[subject] >= CLEARLY_FACES:
            return SubjectChoice("face", f"face: {scores[subject]:.0%} of {len(sample)} sample photos named right "
                                         "by their faces (cross-validated)", scores)
    subject = pick(scores)
    order = list(SUBJECTS)
    others = ", ".join(f"{scores[s]:.0%} as {s}" for s in order if s != subject)
    reason = (f"{subject}: {scores[subject]:.0%} of {len(sample)} sample photos named right "
              f"(cross-validated) against {others}")
    if max(scores.values()) > scores[subject]:
        reason += f" (within {TIE:.0%}: a tie, which goes to {subject})"
    return SubjectChoice(subject, reason, scores)


def pick(scores: Mapping[str, float]) -> str:
    """The kind of subject (a key of `SUBJECTS`) with the best score, where a kind listed later must
    beat the one kept so far by more than `TIE`."""
    order = [kind for kind in SUBJECTS if kind in scores]
    subject = order[0]
    for kind in order[1:]:
        if scores[kind] > scores[subject] + TIE:
            subject = kind
    return subject


def _sample(items: Sequence[Item], keys: Mapping[Path, str]) -> list[Item]:
    """Up to `SAMPLE_PER_CLASS` photos of each class (fewer in a large group): those whose content
    hashes come first, a draw that is random across photos but fixed for each photo."""
    by_class: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_class[item.label].append(item)
    per_class = max(2, min(SAMPLE_PER_CLASS, SAMPLE_MAX // max(1, len(by_class))))
    return [item for label in sorted(by_class)
            for item in sorted(by_class[label], key=lambda i: (keys[i.path], str(i.path)))[:per_class]]


def _cross_validated(vectors: list[Optional[np.ndarray]], y: np.ndarray, has: np.ndarray, n_classes: int) -> float:
    """Share of the sample a head trained on the other folds names right (no subject found: wrong).

    A class with one usable photo cannot be named by a head that never saw it, so it costs
    every kind of subject alike instead of voiding the comparison.
    """
    usable = np.flatnonzero(has)
    if len(np.unique(y[usable])) < 2:
        return 0.0
    X = np.stack([v for k in usable if (v := vectors[k]) is not None])
    probabilities = cross_val_proba("logistic", X, y[usable], n_classes, folds=CV_FOLDS)
    return int((probabilities.argmax(axis=1) == y[usable]).sum()) / len(y)
