"""The annotated copy of a video: every frame with a box and the track's name on each face on screen."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from whosthat.video.reader import VideoReader
from whosthat.video.timeline import Timeline
from whosthat.video.writer import VideoWriter
from whosthat.vision.annotate import draw_predictions


@dataclass(frozen=True, eq=False)
class Shown:
    """One track's face as drawn in one frame (`whosthat.vision.annotate.Drawable`): its box there, its name and
    pooled confidence."""

    box: np.ndarray
    label: str
    confidence: float


def write_annotated(timeline: Timeline, target: str | os.PathLike) -> Path:
    """Decode `timeline.source` again and write it to `target` (its suffix picks the container, written
    atomically) with each track's box and name drawn as on photos (`whosthat.vision.annotate`); between analysed
    frames the boxes move in a straight line. Raises `VideoError` when the video cannot be read again."""
    with VideoReader(timeline.source) as reader:
        info = reader.info
        with VideoWriter(target, info.fps, info.width, info.height) as writer:
            for frame in reader.frames():
                shown = timeline.boxes_at(frame.index)
                if shown:
                    drawn = sorted((Shown(box, track.label, track.confidence) for track, box in shown),
                                   key=lambda face: -float((face.box[2] - face.box[0]) * (face.box[3] - face.box[1])))
                    writer.write(np.asarray(draw_predictions(frame.image, drawn)))
                else:
                    writer.write(frame.image)
    return Path(target)
