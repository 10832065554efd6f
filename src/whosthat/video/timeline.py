"""`Timeline`: who is on screen when in one video, track by track, with its JSON form and its summary table."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

import numpy as np

from whosthat.core.labels import UNKNOWN_LABEL


@dataclass(frozen=True, eq=False)
class TrackBox:
    """Where a track's face was in one analysed frame: the frame's index and time (seconds), the box
    ``x1, y1, x2, y2`` in pixels of the upright frame, and the detector's confidence."""

    frame: int
    time: float
    box: np.ndarray
    detection_score: float

    def to_dict(self) -> dict:
        return {"time": round(self.time, 3), "frame": self.frame, "box": [round(float(v), 1) for v in self.box],
                "detection_score": round(self.detection_score, 4)}


@dataclass(frozen=True, eq=False)
class TimelineTrack:
    """One face followed through the video and named once: `id` (from 1, by first appearance), the name
    (a member or "unknown"), its confidence and pooled probabilities (`whosthat.video.track_names`), and its
    boxes in the analysed frames, in order."""

    id: int
    label: str
    confidence: float
    probabilities: dict[str, float]
    boxes: tuple[TrackBox, ...]

    @property
    def first(self) -> float:
        """Time of the first analysed frame it was seen in (seconds)."""
        return self.boxes[0].time

    @property
    def last(self) -> float:
        """Time of the last analysed frame it was seen in (seconds)."""
        return self.boxes[-1].time

    def box_at(self, frame: int, every: int) -> Optional[np.ndarray]:
        """The box on any frame, with faces looked for in every `every`-th: between two analysed frames moved in
        a straight line from one box to the next; before the first and after the last kept for half the
        interval (when the face came or went between two analysed frames is not known); None elsewhere."""
        start, end = _shown(self, every)
        if not start <= frame < end:
            return None
        frames = [b.frame for b in self.boxes]
        k = int(np.searchsorted(frames, frame, side="right")) - 1
        if k < 0:
            return self.boxes[0].box
        if k == len(self.boxes) - 1 or frames[k] == frame:
            return self.boxes[k].box
        step = (frame - frames[k]) / (frames[k + 1] - frames[k])
        return self.boxes[k].box + step * (self.boxes[k + 1].box - self.boxes[k].box)

    def to_dict(self) -> dict:
        return {"track": self.id, "label": self.label, "confidence": round(self.confidence, 4),
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
                "first": round(self.first, 3), "last": round(self.last, 3),
                "boxes": [b.to_dict() for b in self.boxes]}


@dataclass(frozen=True)
class Appearance:
    """One name's part of a video: seconds on screen (overlapping tracks counted once), tracks, and the time of
    the first analysed frame it was seen in."""

    label: str
    seconds: float
    tracks: int
    first: float


@dataclass(frozen=True, eq=False)
class Timeline:
    """Everyone seen in one video.

    width, height: of the upright frames; fps: the frame rate; duration: seconds up to the end of the
    last frame; frames: how many were decoded; every: faces were looked for in every `every`-th frame
    (the first included); tracks: by first appearance. `error` says why a video could not be read.
    """

    source: str
    width: int
    height: int
    fps: float
    duration: float
    frames: int
    every: int
    tracks: tuple[TimelineTrack, ...]
    error: Optional[str] = None

    @classmethod
    def failed(cls, source: str, error: str) -> Timeline:
        """The timeline of a video that could not be read."""
        return cls(source, 0, 0, 0.0, 0.0, 0, 0, (), error)

    def on_screen(self, track: TimelineTrack) -> tuple[float, float]:
        """(start, end) seconds the track is shown (as `TimelineTrack.box_at` draws it), within the video."""
        start, end = _shown(track, self.every)
        return start / self.fps, min(end / self.fps, self.duration)

    def appearances(self) -> list[Appearance]:
        """Each name's time on screen, the longest first and "unknown" last."""
        spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for track in self.tracks:
            spans[track.label].append(self.on_screen(track))
        first = {label: min(t.first for t in self.tracks if t.label == label) for label in spans}
        found = [Appearance(label, _union_length(parts), len(parts), first[label]) for label, parts in spans.items()]
        return sorted(found, key=lambda a: (a.label == UNKNOWN_LABEL, -a.seconds, a.label))

    def boxes_at(self, frame: int) -> list[tuple[TimelineTrack, np.ndarray]]:
        """The tracks on screen in one frame with their boxes there."""
        shown = ((track, track.box_at(frame, self.every)) for track in self.tracks)
        return [(track, box) for track, box in shown if box is not None]

    def to_dict(self) -> dict:
        """The JSON object `predict --json` prints for a video (the counterpart of a photo's)."""
        return {"video": self.source, "width": self.width, "height": self.height, "fps": round(self.fps, 3),
                "duration": round(self.duration, 3), "frames": self.frames, "every": self.every,
                "tracks": [t.to_dict() for t in self.tracks], "error": self.error}

    def format_summary(self) -> str:
        """Who appears, for how long and in how many tracks, as a text table under a line about the video."""
        if self.error is not None:
            return f"{self.source}: error: {self.error}"
        tracks = f"{len(self.tracks)} track{'s' if len(self.tracks) != 1 else ''}" if self.tracks else "no face found"
        lines = [f"{self.source} ({self.width}x{self.height}, {self.duration:.1f} s at {self.fps:.3g} fps, "
                 f"{self.frames} frames, faces looked for in every {_ordinal(self.every)}): {tracks}"]
        appearances = self.appearances()
        if appearances:
            width = max(12, *(len(a.label) for a in appearances))
            lines.append(f"  {'name':<{width}}  {'on screen':>9}  {'share':>5}  {'tracks':>6}  {'first seen':>10}")
            for a in appearances:
                share = a.seconds / self.duration if self.duration else 0.0
                lines.append(f"  {a.label:<{width}}  {a.seconds:>7.1f} s  {share:>5.0%}  {a.tracks:>6}  "
                             f"{a.first:>8.1f} s")
        return "\n".join(lines)


def _shown(track: TimelineTrack, every: int) -> tuple[int, int]:
    """The frames [start, end) a track is shown on: each analysed frame it was seen in stands for the `every`
    frames around it."""
    half = every // 2
    return max(0, track.boxes[0].frame - half), track.boxes[-1].frame + every - half


def _union_length(spans: list[tuple[float, float]]) -> float:
    """Total length of the union of (start, end) intervals."""
    total, reach = 0.0, -np.inf
    for start, end in sorted(spans):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _ordinal(n: int) -> str:
    return "frame" if n == 1 else f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
