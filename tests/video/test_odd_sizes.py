"""Videos at the widths whose decoded frames PyAV pads (854x480, 426x240): their faces are named like any others."""

from __future__ import annotations

from pathlib import Path

import pytest

import whosthat
from video.clips import Placed, Shot, Tile, make_clip
from whosthat.models.model import Model
from whosthat.video import VideoReader, predict_video

FRAMES = 6


@pytest.fixture(scope="module")
def dlib_model(blackpink_train_dir: Path, session_cache: Path) -> Model:
    """dlib's embedding (aligned by dlib itself, which takes only contiguous arrays) on the blackpink subset."""
    return whosthat.train(blackpink_train_dir, embedder="dlib", test_fraction=0.0, cache_dir=session_cache)


@pytest.fixture(scope="module")
def named_tile(tiles: dict[str, list[Tile]], dlib_model: Model) -> Tile:
    """A held-out tile the dlib model names right as a photo on its own."""
    return next(t for found in tiles.values() for t in found if dlib_model.predict(t.image).labels == [t.member])


@pytest.mark.parametrize("size", [(854, 480), (426, 240)])
def test_a_face_in_a_video_of_a_padded_width_is_named(tmp_path: Path, size: tuple[int, int], dlib_model: Model,
                                                      named_tile: Tile) -> None:
    path = tmp_path / f"clip {size[0]}x{size[1]}.mp4"
    make_clip(path, [Shot([Placed([named_tile], 40, 40, FRAMES)], FRAMES)], size=size)
    with VideoReader(path) as reader:
        assert all(frame.image.flags.c_contiguous for frame in reader.frames())
    timeline = predict_video(dlib_model, path, every=2)
    assert (timeline.width, timeline.height) == size
    assert [t.label for t in timeline.tracks] == [named_tile.member]
