"""Following faces from one analysed frame to the next: box overlap and embedding similarity, within a shot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from whosthat.vision.face import Face

#: A face continues a track only when its box overlaps the box the track's motion predicts by at least this
#: much (intersection over union).
MIN_OVERLAP = 0.2
#: The embeddings a track compares new faces with: the mean of its latest ones (a single frame's may be blurred).
RECENT = 3


@dataclass(frozen=True, eq=False)
class Sighting:
    """One face in one analysed frame: the frame's index and time (seconds), the face (in pixels of the upright
    frame) and its embedding as the model made it."""

    frame: int
    time: float
    face: Face
    embedding: np.ndarray


@dataclass(eq=False)
class Track:
    """The sightings of one face, in order, from its first analysed frame to its last; `id` counts from 1."""

    id: int
    sightings: list[Sighting] = field(default_factory=list)

    @property
    def first(self) -> Sighting:
        return self.sightings[0]

    @property
    def last(self) -> Sighting:
        return self.sightings[-1]

    @property
    def frames(self) -> frozenset[int]:
        """The analysed frames the face was seen in."""
        return frozenset(s.frame for s in self.sightings)

    def predicted_box(self, frame: int) -> np.ndarray:
        """Where the box should be at `frame`, moving as it did between the last two sightings."""
        last = self.last
        if len(self.sightings) < 2:
            return last.face.box
        before = self.sightings[-2]
        velocity = (last.face.box - before.face.box) / (last.frame - before.frame)
        return last.face.box + velocity * (frame - last.frame)

    def appearance(self) -> np.ndarray:
        """The unit mean of the latest embeddings (what a new face must resemble)."""
        return _unit(np.mean(_unit(np.stack([s.embedding for s in self.sightings[-RECENT:]])), axis=0)[None])[0]


class Tracker:
    """Links the faces of successive analysed frames into tracks.

    A face continues the track whose predicted box it overlaps (at least MIN_OVERLAP) when the
    assignment that maximises overlap plus cosine similarity of embeddings over all faces and tracks
    pairs them; other faces start tracks. A track not seen for more than `max_gap` frames ends, and
    so does every track at a cut between shots (`update(..., cut=True)`), where a face in the same
    place is most often somebody else.
    """

    def __init__(self, max_gap: int) -> None:
        self.max_gap = max_gap
        self._active: list[Track] = []
        self._ended: list[Track] = []
        self._count = 0

    def update(self, frame: int, time: float, faces: Sequence[Face], embeddings: np.ndarray, *,
               cut: bool = False) -> list[Track]:
        """Add the faces of one analysed frame; returns the track of each face, in order."""
        stale = [t for t in self._active if cut or frame - t.last.frame > self.max_gap]
        self._ended += stale
        self._active = [t for t in self._active if t not in stale]
        sightings = [Sighting(frame, time, face, vector) for face, vector in zip(faces, embeddings)]
        chosen: list[Track | None] = [None] * len(sightings)
        if self._active and sightings:
            score = self._scores(frame, sightings)
            rows, cols = linear_sum_assignment(-score)
            for row, col in zip(rows, cols):
                if score[row, col] > 0:
                    chosen[col] = self._active[row]
        tracks: list[Track] = []
        for track, sighting in zip(chosen, sightings):
            if track is None:
                self._count += 1
                track = Track(self._count)
                self._active.append(track)
            track.sightings.append(sighting)
            tracks.append(track)
        return tracks

    def finish(self) -> list[Track]:
        """Every track, ended or not, by first appearance."""
        tracks, self._ended, self._active = self._ended + self._active, [], []
        return sorted(tracks, key=lambda t: t.id)

    def _scores(self, frame: int, sightings: list[Sighting]) -> np.ndarray:
        """(tracks, faces): overlap plus similarity where the boxes overlap enough, 0 (no link) elsewhere."""
        predicted = np.stack([t.predicted_box(frame) for t in self._active])
        boxes = np.stack([s.face.box for s in sightings])
        overlap = box_overlap(predicted, boxes)
        vectors = _unit(np.stack([s.embedding for s in sightings]))
        similarity = np.stack([t.appearance() for t in self._active]) @ vectors.T
        return np.where(overlap >= MIN_OVERLAP, overlap + np.clip(similarity, 0.0, 1.0) + 1e-6, 0.0)


def box_overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of boxes ``x1, y1, x2, y2``."""
    a, b = np.asarray(a, np.float64)[:, None, :], np.asarray(b, np.float64)[None, :, :]
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    return inter / np.maximum(_area(a) + _area(b) - inter, 1e-12)


def _area(box: np.ndarray) -> np.ndarray:
    return np.clip(box[..., 2] - box[..., 0], 0, None) * np.clip(box[..., 3] - box[..., 1], 0, None)


def _unit(embeddings: np.ndarray) -> np.ndarray:
    embeddings = np.asarray(embeddings, np.float32)
    return embeddings / np.maximum(np.linalg.norm(embeddings, axis=1, keepdims=True), 1e-12)
