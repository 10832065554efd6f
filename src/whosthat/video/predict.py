"""A video's timeline: faces found and embedded in every k-th frame, tracked, and each track named once."""

from __future__ import annotations

import math
import os
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import cv2
import numpy as np

from whosthat.video.defaults import DEFAULT_EVERY
from whosthat.video.reader import Frame, VideoInfo, VideoReader
from whosthat.video.shots import CutDetector
from whosthat.video.timeline import Timeline, TimelineTrack, TrackBox
from whosthat.video.track_names import TrackName, name_tracks
from whosthat.video.tracking import Track, Tracker
from whosthat.vision.face import Face

if TYPE_CHECKING:
    from whosthat.models.protocol import Namer

#: Frames larger than this (longer side, pixels) are searched for faces scaled down to it (a 1080p frame at
#: 960x540); the faces are cut from the frame itself for the embedder.
DETECTION_SIDE = 960
#: A track whose face is not found again for this long (seconds) ends; it outlasts at least one analysed frame
#: where its face was missed.
MAX_GAP_SECONDS = 2.0

Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class Analysis:
    """What was found in a video before naming: the container's description, the tracks, how many frames were
    decoded, the seconds up to the end of the last one, and `every` (faces looked for in every every-th)."""

    info: VideoInfo
    tracks: list[Track]
    frames: int
    duration: float
    every: int


def analyse(model: Namer, path: str | os.PathLike, *, every: int = DEFAULT_EVERY,
            progress: Optional[Progress] = None) -> Analysis:
    """Decode the video, find and embed the faces of every `every`-th frame with `model`'s detector and
    embedder, and track them. Faces are looked for in the frame scaled to DETECTION_SIDE and embedded from
    the frame itself; frames are decoded ahead in a thread while the faces of the last are embedded (on
    the other cores: PyTorch's threads are one fewer than the cores meanwhile).

    Raises `VideoError` for a video that cannot be read (`whosthat.video.reader`). `progress(label,
    total)` returns a callback advanced per decoded frame (the CLI's progress bars).
    """
    if every < 1:
        raise ValueError(f"every must be 1 or more, not {every}")
    extractor = model.extractor()
    with VideoReader(path) as reader, _cores_for_embedding():
        info = reader.info
        tracker = Tracker(max_gap=max(2 * every, math.ceil(MAX_GAP_SECONDS * info.fps / every) * every))
        is_cut = CutDetector()
        advance = progress(os.fspath(path), info.frames or round(info.duration * info.fps)) if progress else None
        done = 0
        for frame in _ahead(reader.frames(every)):
            small, scale = _for_detection(frame.image)
            faces = [_scaled(face, 1 / scale) for face in extractor.detector.detect(small)]
            chips = extractor.embedder.chips(frame.image, faces)
            embeddings = extractor.embedder.embed(chips) if faces else np.zeros((0, extractor.embedder.dim), np.float32)
            tracker.update(frame.index, frame.time, faces, embeddings, cut=is_cut(small))
            if advance is not None:
                advance(reader.decoded - done)
                done = reader.decoded
        if advance is not None:
            advance(reader.decoded - done)
        decoded, end = reader.decoded, reader.end
    return Analysis(info, tracker.finish(), decoded, end, every)


def predict_video(model: Namer, path: str | os.PathLike, *, every: int = DEFAULT_EVERY,
                  threshold: Optional[float] = None, progress: Optional[Progress] = None) -> Timeline:
    """The timeline of a video: every face tracked and each track named by pooling its frames
    (`whosthat.video.track_names.name_tracks`; `threshold` replaces the model's stranger threshold).

    Raises `VideoError` for a video that cannot be read.
    """
    analysis = analyse(model, path, every=every, progress=progress)
    return timeline(analysis, name_tracks(model, analysis.tracks, threshold))


def timeline(analysis: Analysis, names: Sequence[TrackName]) -> Timeline:
    """The timeline of an analysed video whose tracks got `names` (`TrackName`s, in the order of the tracks)."""
    tracks = tuple(
        TimelineTrack(track.id, name.label, name.confidence, name.probabilities,
                      tuple(TrackBox(s.frame, s.time, s.face.box, s.face.score) for s in track.sightings))
        for track, name in zip(analysis.tracks, names))
    info = analysis.info
    return Timeline(info.source, info.width, info.height, info.fps, analysis.duration, analysis.frames,
                    analysis.every, tracks)


def _for_detection(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The frame at most DETECTION_SIDE pixels on its longer side, and the scale it was brought to."""
    height, width = image.shape[:2]
    scale = min(1.0, DETECTION_SIDE / max(height, width))
    if scale == 1.0:
        return image, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def _scaled(face: Face, factor: float) -> Face:
    """The face with its box and landmarks multiplied by `factor` (back to the frame's own pixels)."""
    landmarks = None if face.landmarks is None else face.landmarks * factor
    return Face(box=face.box * factor, landmarks=landmarks, score=face.score)


def _ahead(frames: Iterator[Frame], size: int = 2) -> Iterator[Frame]:
    """`frames`, decoded up to `size` ahead in a worker thread (PyAV decodes without the GIL); its errors are
    raised here, in order."""
    with ThreadPoolExecutor(1) as worker:
        pending = deque(worker.submit(next, frames, None) for _ in range(size))
        while True:
            frame = pending.popleft().result()
            if frame is None:
                return
            pending.append(worker.submit(next, frames, None))
            yield frame


@contextmanager
def _cores_for_embedding() -> Iterator[None]:
    """PyTorch's threads one fewer than the cores (at least one) while the decoding thread runs: with as many
    threads as cores beside it, its threads wait on each other and embedding slows down several times. Without
    PyTorch loaded (the networks run in ONNX Runtime, whose threads sleep rather than spin) nothing is changed."""
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(before, (os.cpu_count() or 1) - 1)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
