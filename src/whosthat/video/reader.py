"""Reading a video file frame by frame (PyAV), upright, with each frame's time; or one clear error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import av
import numpy as np

from whosthat.core.errors import WhosthatError

#: File suffixes read as videos (compared lower-case), beside `whosthat.vision.images.IMAGE_SUFFIXES`.
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"})
#: The first bytes of the containers above: a file that starts so but cannot be opened is damaged, not foreign.
_SIGNATURES = ((4, b"ftyp"), (4, b"moov"), (4, b"mdat"), (4, b"free"), (4, b"wide"), (0, b"\x1a\x45\xdf\xa3"),
               (0, b"RIFF"))


class VideoError(WhosthatError):
    """A video that cannot be used: missing, not a video, audio only, without frames, truncated or damaged."""


def is_video_path(path: Path) -> bool:
    """Whether a file name looks like a video whosthat reads (by suffix, hidden files excluded)."""
    return path.suffix.lower() in VIDEO_SUFFIXES and not path.name.startswith(".")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the video stream. width and height are those of the upright frames;
    duration is in seconds; frames is the declared count, 0 where the container keeps none (Matroska)."""

    source: str
    width: int
    height: int
    fps: float
    duration: float
    frames: int


@dataclass(frozen=True, eq=False)
class Frame:
    """One decoded frame: its position in the video, its time in seconds from the first frame, RGB pixels."""

    index: int
    time: float
    image: np.ndarray


class VideoReader:
    """An open video file; `frames()` decodes it from the start. Use as a context manager.

    Raises `VideoError` for a missing, empty or foreign file, a file without a video stream (audio
    only) or without a frame that decodes, and, while decoding, for damage and for a video that ends
    before the frames its container declares (truncated).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        try:
            size = self.path.stat().st_size if self.path.is_file() else None
        except OSError as error:  # a name too long, a folder that cannot be searched
            raise VideoError(f"{self.path}: cannot be read ({error.strerror})") from None
        if size is None:
            raise VideoError(f"{self.path}: no such file")
        if size == 0:
            raise VideoError(f"{self.path}: empty file")
        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: {_unreadable(self.path, error)}") from None
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams})
            self._container.close()
            raise VideoError(f"{self.path}: no video stream" + (f" ({' and '.join(kinds)} only)" if kinds else ""))
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._decoded = self._container.decode(self._stream)
        try:
            self._first = self._next(0, 0.0)
        except VideoError:
            self._container.close()
            raise
        if self._first is None:
            self._container.close()
            if self._stream.frames:
                raise VideoError(f"{self.path}: truncated or damaged: none of the {self._stream.frames} frames its "
                                 "container declares could be decoded")
            raise VideoError(f"{self.path}: no video frame in it (an empty video stream, or a truncated file)")
        self.info = self._describe(self._first)
        self.decoded, self.end = 0, 0.0

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the file."""
        self._container.close()

    def frames(self, step: int = 1) -> Iterator[Frame]:
        """Every `step`-th frame (the first included) in display order, upright (the container's rotation
        applied), as a C-contiguous array; the others are decoded but not converted. Only once. `decoded` and
        `end` then say how many frames were decoded and the time (seconds) at the end of the last one."""
        frame, index, start, time = self._first, 0, None, 0.0
        while frame is not None:
            stamp = frame.time if frame.time is not None else index / self.info.fps
            start = stamp if start is None else start
            time = stamp - start
            self.decoded, self.end = index + 1, time + 1 / self.info.fps
            if index % step == 0:
                # At some widths (854, 426) PyAV's rows are padded: the array is a strided view, which dlib and
                # other native code refuse, so every frame leaves here contiguous.
                image = frame.to_ndarray(format="rgb24")
                turns = round(frame.rotation / 90) % 4
                yield Frame(index, time, np.ascontiguousarray(np.rot90(image, turns) if turns else image))
            index += 1
            frame = self._next(index, time)
        if self.info.frames and index < self.info.frames - max(2, self.info.frames // 100):
            raise VideoError(f"{self.path}: truncated: it ends after {index} of the {self.info.frames} frames "
                             f"its container declares ({time:.1f} of {self.info.duration:.1f} s)")
        if not self.info.frames and time + 1 / self.info.fps < self.info.duration - max(1.0, self.info.duration / 20):
            raise VideoError(f"{self.path}: truncated: its frames end at {time:.1f} s of the "
                             f"{self.info.duration:.1f} s its container declares")

    def _next(self, index: int, time: float) -> Optional[av.VideoFrame]:
        """The next decoded frame, None at the end; `VideoError` for damage (after `index` frames, at `time`)."""
        try:
            return next(self._decoded, None)
        except av.FFmpegError as error:
            raise VideoError(f"{self.path}: damaged after {index} frames ({time:.1f} s): "
                             f"{error.strerror or error}") from None

    def _describe(self, first: av.VideoFrame) -> VideoInfo:
        stream = self._stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 25.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration is not None:
            duration = self._container.duration / av.time_base
        else:
            duration = stream.frames / fps
        side_ways = round(first.rotation / 90) % 2 == 1
        width, height = first.width, first.height
        return VideoInfo(str(self.path), height if side_ways else width, width if side_ways else height, fps,
                         duration, stream.frames)


def _unreadable(path: Path, error: av.FFmpegError) -> str:
    """Why a file could not be opened: a damaged video when it starts like one, else not a video."""
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as unreadable:
        return f"cannot be read ({unreadable.strerror})"
    if any(head[at:at + len(magic)] == magic for at, magic in _SIGNATURES):
        return f"damaged or truncated video, cannot be opened ({error.strerror or error})"
    return "not a video file whosthat can read"
