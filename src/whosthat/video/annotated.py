"""The annotated copy of a video: every frame with a box and the track's name on each face on screen."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from whosthat.annotate import draw_predictions
from whosthat.prediction import Prediction
from whosthat.video.reader import VideoReader
from whosthat.video.timeline import Timeline, TimelineTrack
from whosthat.video.writer import VideoWriter


def write_annotated(timeline: Timeline, target: str | os.PathLike) -> Path:
    """Decode `timeline.source` again and write it to `target` (its suffix picks the container, written
    atomically) with each track's box and name drawn as on photos (`whosthat.annotate`); between analysed
    frames the boxes move in a straight line. Raises `VideoError` when the video cannot be read again."""
    with VideoReader(timeline.source) as reader:
        info = reader.info
        with VideoWriter(target, info.fps, info.width, info.height) as writer:
            for frame in reader.frames():
                shown = timeline.boxes_at(frame.index)
                if shown:
                    drawn = [_as_prediction(track, box) for track, box in shown]
                    drawn.sort(key=lambda p: -float((p.box[2] - p.box[0]) * (p.box[3] - p.box[1])))
                    writer.write(np.asarray(draw_predictions(frame.image, drawn)))
                else:
                    writer.write(frame.image)
    return Path(target)


def _as_prediction(track: TimelineTrack, box: np.ndarray) -> Prediction:
    """What `draw_predictions` draws for one track in one frame (its name and pooled confidence)."""
    return Prediction(box=box, detection_score=track.boxes[0].detection_score, label=track.label,
                      confidence=track.confidence, probabilities=track.probabilities, similarity=float("nan"))
