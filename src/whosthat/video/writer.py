"""Writing RGB frames to a video file (PyAV), atomically: a temporary file beside it, renamed when complete."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Optional

import av
import numpy as np

from whosthat.core.files import Replacement

#: Container format by file suffix; the codec is H.264 (MPEG-4 Part 2 where PyAV lacks libx264), VP9 in WebM.
_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi", ".webm": "webm"}


class VideoWriter:
    """Encodes frames of one size at a constant rate into `path` (its suffix picks the container).

    The file appears only when the writer closes without an error; until then the frames go to a
    temporary file in the same folder, so an interrupted run never leaves half a video, nor
    overwrites a complete one. Odd widths and heights are padded by a pixel (4:2:0 chroma needs even sizes).
    """

    def __init__(self, path: str | os.PathLike, fps: float, width: int, height: int, quality: int = 23) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in _FORMATS:
            raise ValueError(f"{self.path}: no video format for {suffix!r} (one of {', '.join(sorted(_FORMATS))})")
        self.width, self.height = width, height
        self._replacement = Replacement(self.path, ours=is_whosthat_video)
        self._container = av.open(str(self._replacement.temporary), "w", format=_FORMATS[suffix])
        self._container.metadata["comment"] = MARK
        rate = Fraction(fps).limit_denominator(1001)
        codec = "libvpx-vp9" if suffix == ".webm" else "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = self._container.add_stream(codec, rate=rate)
        if not isinstance(stream, av.VideoStream):
            raise TypeError(f"{codec}: PyAV made a {type(stream).__name__}, not a video stream")
        self._stream = stream
        self._stream.width, self._stream.height = width + width % 2, height + height % 2
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = 1 / rate
        self._stream.options = {"crf": str(quality), "preset": "veryfast"} if codec == "libx264" else {}
        self._count = 0

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind: Optional[type], error: Optional[BaseException], trace: Optional[TracebackType]) -> None:
        if kind is None:
            self.close()
        else:
            self.discard()

    def write(self, image: np.ndarray) -> None:
        """Append one (height, width, 3) uint8 RGB frame."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame of {image.shape[1]}x{image.shape[0]} in a {self.width}x{self.height} video")
        if image.shape[:2] != (self._stream.height, self._stream.width):
            image = np.pad(image, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = self._count
        self._count += 1
        self._container.mux(self._stream.encode(frame))

    def close(self) -> Path:
        """Finish the file and put it in place; returns its path."""
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
            self._replacement.commit()
        except BaseException:
            self.discard()
            raise
        return self.path

    def discard(self) -> None:
        """Drop what was written (the target path is left as it was)."""
        self._container.close()
        self._replacement.discard()


#: The comment in the metadata of every video whosthat writes: such a file may be replaced by a newer one.
MARK = "whosthat"


def is_whosthat_video(path: Path) -> bool:
    """Whether the file at `path` is a video whosthat wrote (its container's comment, `comment` in MP4 and
    `COMMENT` in WebM)."""
    try:
        with av.open(str(path)) as container:
            return MARK in (container.metadata.get("comment"), container.metadata.get("COMMENT"))
    except (OSError, ValueError, av.FFmpegError):
        return False
