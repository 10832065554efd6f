"""Small clips made from the shared blackpink photos the `blackpink_model` fixture never saw.

A clip is a list of shots. In a shot, face tiles (the head of one photo, cut around its face) sit
on a plain background and drift a few pixels a frame; a tile may change to another photo of the
same member within the shot, as a face turns in a real video. Each shot has its own background
colour, so that a change of shot is a cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from whosthat.video import VideoWriter

SIZE = (640, 360)
FPS = 10
TILE = 150
#: Held-out photos per member looked at for single-face tiles.
CANDIDATES = 12
BACKGROUNDS = [(40, 60, 90), (90, 40, 40), (40, 90, 50), (80, 80, 30), (60, 30, 80), (30, 80, 80)]


@dataclass(frozen=True)
class Tile:
    """The head of one held-out photo: TILE x TILE pixels with the face in the middle, whose it is, and the
    names the model gives the tile as a photo on its own."""

    image: np.ndarray
    member: str
    source: Path
    alone: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placed:
    """Tiles shown one after another at one place in a shot, each for `frames_each` frames."""

    tiles: Sequence[Tile]
    x: int
    y: int
    frames_each: int


@dataclass(frozen=True)
class Shot:
    places: Sequence[Placed]
    frames: int


def tile_of(path: Path, box: np.ndarray, member: str) -> Tile:
    """The square around the face box (twice its height), resized to TILE."""
    image = Image.open(path).convert("RGB")
    x1, y1, x2, y2 = box
    side = 2.0 * max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    crop = image.crop((int(cx - side / 2), int(cy - side / 2), int(cx + side / 2), int(cy + side / 2)))
    return Tile(np.asarray(crop.resize((TILE, TILE))), member, path)


def make_clip(path: Path, shots: Sequence[Shot], size: tuple[int, int] = SIZE, fps: float = FPS
              ) -> list[list[tuple[str, np.ndarray]]]:
    """Write the clip; returns, per frame, (member, face box) of every tile shown (the face is the tile's
    middle half)."""
    width, height = size
    truth = []
    with VideoWriter(path, fps, width, height) as writer:
        for number, shot in enumerate(shots):
            for n in range(shot.frames):
                frame = np.empty((height, width, 3), np.uint8)
                frame[:] = BACKGROUNDS[number % len(BACKGROUNDS)]
                shown = []
                for place in shot.places:
                    tile = place.tiles[(n // place.frames_each) % len(place.tiles)]
                    x, y = place.x + 2 * n, place.y + n // 2
                    frame[y:y + TILE, x:x + TILE] = tile.image
                    shown.append((tile.member, np.array([x + TILE / 4, y + TILE / 4, x + 3 * TILE / 4,
                                                         y + 3 * TILE / 4])))
                writer.write(frame)
                truth.append(shown)
    return truth
