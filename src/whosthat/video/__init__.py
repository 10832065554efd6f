"""Videos: faces found in every k-th frame, tracked between frames, each track named once from all its frames.

`predict_video(model, "clip.mp4")` gives a `Timeline` (its JSON and summary table), `write_annotated`
draws it on a copy of the video. Files are read and written with PyAV.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.video.annotated import write_annotated
    from whosthat.video.defaults import DEFAULT_EVERY
    from whosthat.video.predict import analyse, predict_video
    from whosthat.video.reader import VIDEO_SUFFIXES, VideoError, VideoReader, is_video_path
    from whosthat.video.timeline import Timeline
    from whosthat.video.writer import VideoWriter

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "write_annotated": "whosthat.video.annotated",
    "DEFAULT_EVERY": "whosthat.video.defaults",
    "analyse": "whosthat.video.predict",
    "predict_video": "whosthat.video.predict",
    "VIDEO_SUFFIXES": "whosthat.video.reader",
    "VideoError": "whosthat.video.reader",
    "VideoReader": "whosthat.video.reader",
    "is_video_path": "whosthat.video.reader",
    "Timeline": "whosthat.video.timeline",
    "VideoWriter": "whosthat.video.writer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["DEFAULT_EVERY", "Timeline", "VIDEO_SUFFIXES", "VideoError", "VideoReader", "VideoWriter", "analyse",
           "is_video_path", "predict_video", "write_annotated"]
