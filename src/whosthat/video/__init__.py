"""Videos: faces found in every k-th frame, tracked between frames, each track named once from all its frames.

`predict_video(model, "clip.mp4")` gives a `Timeline` (its JSON and summary table), `write_annotated`
draws it on a copy of the video. Files are read and written with PyAV.
"""

from whosthat.video.annotated import write_annotated
from whosthat.video.predict import DEFAULT_EVERY, analyse, predict_video
from whosthat.video.reader import VIDEO_SUFFIXES, VideoError, VideoReader, is_video_path
from whosthat.video.timeline import Timeline
from whosthat.video.writer import VideoWriter

__all__ = ["DEFAULT_EVERY", "VIDEO_SUFFIXES", "Timeline", "VideoError", "VideoReader", "VideoWriter", "analyse",
           "is_video_path", "predict_video", "write_annotated"]
