"""Reading and writing video files: frames, times, rotation, atomic writing, and one clear error per bad input."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from whosthat.video import VideoError, VideoReader, VideoWriter, is_video_path


def _frames(n: int, size: tuple[int, int] = (64, 48)) -> list[np.ndarray]:
    """n frames of one grey level each (10, 20, ..., 240, then again), with a white block in the top-left
    corner and a strip of noise at the bottom (so that each frame takes some room in the file)."""
    noise = np.random.default_rng(0)
    out = []
    for k in range(n):
        frame = np.full((size[1], size[0], 3), 10 * (k % 24 + 1), np.uint8)
        frame[:8, :16] = 255
        frame[-8:] = noise.integers(0, 256, (8, size[0], 3))
        out.append(frame)
    return out


def _write(path: Path, n: int = 20, fps: float = 10, options: dict | None = None, rotation: int = 0) -> Path:
    """A clip written by PyAV itself (H.264), with container `options` and a display rotation."""
    with av.open(str(path), "w", options=options or {}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for frame in _frames(n):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))
    return path


def test_frames_come_in_order_with_their_times(tmp_path: Path) -> None:
    with VideoReader(_write(tmp_path / "clip.mp4", n=20, fps=10)) as reader:
        assert (reader.info.width, reader.info.height, reader.info.fps, reader.info.frames) == (64, 48, 10.0, 20)
        assert reader.info.duration == pytest.approx(2.0)
        frames = list(reader.frames())
    assert [f.index for f in frames] == list(range(20))
    assert [f.time for f in frames] == pytest.approx([k / 10 for k in range(20)])
    assert frames[0].image.shape == (48, 64, 3)
    assert [int(f.image[20, 40, 0]) for f in frames[:3]] == pytest.approx([10, 20, 30], abs=3)


def test_a_rotated_video_comes_upright(tmp_path: Path) -> None:
    """The container asks for a quarter turn anticlockwise: frames come 48 wide and 64 high, the block that
    was top left now bottom left (as players show it)."""
    with VideoReader(_write(tmp_path / "phone.mp4", n=3, rotation=90)) as reader:
        assert (reader.info.width, reader.info.height) == (48, 64)
        image = next(reader.frames()).image
    assert image.shape == (64, 48, 3)
    assert image[60, 4].min() > 200 and image[4, 4].max() < 100


def test_the_writer_writes_every_frame_and_pads_odd_sizes(tmp_path: Path) -> None:
    frames = [np.pad(f, ((0, 1), (0, 1), (0, 0)), mode="edge") for f in _frames(12)]
    with VideoWriter(tmp_path / "odd.mkv", 12, 65, 49) as writer:
        for frame in frames:
            writer.write(frame)
    with VideoReader(tmp_path / "odd.mkv") as reader:
        read = list(reader.frames())
    assert len(read) == 12 and read[0].image.shape == (50, 66, 3)
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "odd.mkv").stat().st_mode & 0o777 == 0o666 & ~mask
    assert read[-1].time == pytest.approx(11 / 12, abs=0.01)


def test_an_interrupted_writer_leaves_nothing_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.mp4"
    with VideoWriter(target, 10, 64, 48) as writer:  # an older video whosthat wrote
        writer.write(_frames(1)[0])
    older = target.read_bytes()
    with pytest.raises(RuntimeError), VideoWriter(target, 10, 64, 48) as writer:
        writer.write(_frames(1)[0])
        raise RuntimeError("stopped")
    assert target.read_bytes() == older
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_users_file_is_never_replaced_by_a_video(tmp_path: Path) -> None:
    from whosthat.core.files import NotOursError

    target = tmp_path / "out.mp4"
    target.write_bytes(b"a file of the user's")
    with pytest.raises(NotOursError, match="a file whosthat did not write"):
        VideoWriter(target, 10, 64, 48)
    assert target.read_bytes() == b"a file of the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_video_suffixes() -> None:
    assert all(is_video_path(Path(f"a{s}")) for s in (".mp4", ".MOV", ".mkv", ".webm", ".avi", ".m4v"))
    assert not is_video_path(Path("a.jpg")) and not is_video_path(Path(".hidden.mp4"))


def _truncated(path: Path, options: dict | None = None) -> Path:
    whole = _write(path.with_name("whole" + path.suffix), n=200, options=options)
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    return path


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.float32), format="fltp", layout="mono")
        samples.sample_rate = 8000
        container.mux(stream.encode(samples))
        container.mux(stream.encode(None))
    return path


def _no_frames(path: Path) -> Path:
    """A Matroska file with a video stream that holds no frame (beside a second of silence)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        _audio = container.add_stream("aac", rate=8000)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.float32), format="fltp", layout="mono")
        samples.sample_rate = 8000
        container.mux(_audio.encode(samples))
        container.mux(_audio.encode(None))
    return path


BAD_VIDEOS = {
    "missing": (lambda p: p, "clip.mp4: no such file"),
    "empty": (lambda p: (p.write_bytes(b""), p)[1], "clip.mp4: empty file"),
    "not a video": (lambda p: (p.write_text("hello\n" * 50), p)[1], "clip.mp4: not a video file whosthat can read"),
    "audio only": (_audio_only, "clip.mp4: no video stream (audio only)"),
    "no frames": (lambda p: _no_frames(p.with_suffix(".mkv")), "clip.mkv: no video frame in it"),
    "truncated, index at the end": (_truncated, "clip.mp4: damaged or truncated video, cannot be opened"),
    "truncated, index first": (lambda p: _truncated(p, {"movflags": "faststart"}),
                               "clip.mp4: truncated: it ends after"),
    "truncated Matroska": (lambda p: _truncated(p.with_suffix(".mkv")), "clip.mkv: truncated: its frames end at"),
}


@pytest.mark.parametrize("case", list(BAD_VIDEOS))
def test_each_bad_video_is_one_clear_line(case: str, tmp_path: Path) -> None:
    make, expected = BAD_VIDEOS[case]
    path = make(tmp_path / "clip.mp4")
    with pytest.raises(VideoError) as raised:
        with VideoReader(path) as reader:
            for _ in reader.frames():
                pass
    message = str(raised.value)
    assert message.startswith(str(tmp_path / expected)), message
    assert "\n" not in message
