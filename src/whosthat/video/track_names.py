"""Naming tracks: each track's frames pooled into one name, two tracks seen in one frame never the same member."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import numpy as np

from whosthat.core.errors import check_threshold
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.recognition.assign import UNKNOWN, assign_labels, named_class
from whosthat.recognition.recogniser import Evidence
from whosthat.video.tracking import Track

if TYPE_CHECKING:
    from whosthat.models.protocol import Namer

#: The least pooled probability of a name a track takes in place of its best one, when a track seen beside it
#: has that one (as `assign_labels` allows for a face that loses its best name in a group photo).
MIN_PROBABILITY = 0.05
#: A track not named yet.
_OPEN = UNKNOWN - 1


@dataclass(frozen=True)
class TrackName:
    """The name of one track: a member or "unknown"; confidence is the pooled probability of the name (for
    "unknown", 1 minus the best); probabilities are the pooled ones per member; stranger is the pooled stranger
    score of the name (of the most probable member for "unknown"), compared with the model's threshold."""

    label: str
    confidence: float
    probabilities: dict[str, float]
    stranger: float


def name_tracks(model: Namer, tracks: Sequence[Track], threshold: Optional[float] = None) -> list[TrackName]:
    """One name per track, in order.

    A track's probabilities are the mean of its frames' (more views than one frame), and its stranger
    score for a member the mean of its frames' scores for that member: the stranger test is passed when
    that reaches `threshold` (the model's calibrated one by default). Tracks seen in the same frame are
    named together by `assign_labels`, so that no member is given to two faces at once; the largest
    groups of tracks seen together are named first, and a name given there is not given again to a
    track seen beside it later. Tracks never seen together may share a name (a face that left and came back).
    A threshold that is not a finite number is a `WhosthatError`.
    """
    check_threshold(threshold)
    if not tracks:
        return []
    evidence = [_pooled(e) for e in track_evidence(model, tracks)]
    probabilities = np.stack([p for p, _ in evidence])
    stranger = np.stack([s for _, s in evidence])
    limit = model.threshold if threshold is None else threshold
    accepted = stranger >= limit
    labels = np.full(len(tracks), _OPEN)
    for group in _seen_together(tracks):
        open_ = [i for i in group if labels[i] == _OPEN]
        taken = [int(labels[i]) for i in group if labels[i] >= 0]
        p, ok = probabilities[open_].copy(), accepted[open_].copy()
        lost = np.isin(p.argmax(axis=1), taken)
        p[:, taken], ok[:, taken] = 0.0, False
        ok[lost] &= p[lost] >= MIN_PROBABILITY
        labels[open_] = assign_labels(p, ok, min_probability=MIN_PROBABILITY)
    names = []
    for label, p, s in zip(labels, probabilities, stranger):
        cue, confidence = named_class(p, int(label) if label >= 0 else UNKNOWN)
        names.append(TrackName(
            label=UNKNOWN_LABEL if label < 0 else model.classes[int(label)], confidence=confidence,
            probabilities={c: float(v) for c, v in zip(model.classes, p)}, stranger=float(s[cue])))
    return names


def frame_labels(model: Namer, tracks: Sequence[Track], threshold: Optional[float] = None) -> list[list[str]]:
    """The name each frame alone gives each sighting (the faces of one frame named together, as in a photo),
    per track, in the order of its sightings: what the video would show without pooling."""
    check_threshold(threshold)
    if not tracks:
        return []
    evidence = track_evidence(model, tracks)
    limit = model.threshold if threshold is None else threshold
    by_frame: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for t, track in enumerate(tracks):
        for k, sighting in enumerate(track.sightings):
            by_frame[sighting.frame].append((t, k))
    labels = [[UNKNOWN_LABEL] * len(track.sightings) for track in tracks]
    for faces in by_frame.values():
        p = np.stack([evidence[t].probabilities[k] for t, k in faces])
        s = np.stack([evidence[t].stranger[k] for t, k in faces])
        for (t, k), label in zip(faces, assign_labels(p, s >= limit)):
            labels[t][k] = UNKNOWN_LABEL if label == UNKNOWN else model.classes[label]
    return labels


def track_evidence(model: Namer, tracks: Sequence[Track]) -> list[Evidence]:
    """What the model makes of every sighting of each track (`model.evidence`, one batch for all)."""
    evidence = model.evidence(np.stack([s.embedding for track in tracks for s in track.sightings]))
    ends = np.cumsum([len(track.sightings) for track in tracks])
    return [Evidence(evidence.probabilities[start:end], evidence.similarity[start:end], evidence.stranger[start:end])
            for start, end in zip(np.concatenate([[0], ends[:-1]]), ends)]


def _pooled(evidence: Evidence) -> tuple[np.ndarray, np.ndarray]:
    """A track's mean probabilities and mean stranger scores per member."""
    return evidence.probabilities.mean(axis=0), evidence.stranger.mean(axis=0)


def _seen_together(tracks: Sequence[Track]) -> list[list[int]]:
    """Groups of track indices seen in one analysed frame, none inside another, largest and then earliest first."""
    present: dict[int, set[int]] = defaultdict(set)
    for i, track in enumerate(tracks):
        for frame in track.frames:
            present[frame].add(i)
    first: dict[frozenset[int], int] = {}
    for frame in sorted(present):
        first.setdefault(frozenset(present[frame]), frame)
    groups = [g for g in first if not any(g < other for other in first)]
    return [sorted(g) for g in sorted(groups, key=lambda g: (-len(g), first[g]))]
