"""Videos: reading frames with their times, writing frames, with PyAV."""

from whosthat.video.reader import VIDEO_SUFFIXES, VideoError, VideoReader, is_video_path
from whosthat.video.writer import VideoWriter

__all__ = ["VIDEO_SUFFIXES", "VideoError", "VideoReader", "VideoWriter", "is_video_path"]
