"""Fixtures of the video tests: tiles of held-out blackpink photos, the blackpink model as a file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from conftest import BLACKPINK, BLACKPINK_MEMBERS, BLACKPINK_TRAIN_PER_CLASS, images_of
from video.clips import CANDIDATES, Tile, tile_of
from whosthat.models.model import Model


@pytest.fixture(scope="session")
def tiles(blackpink_model: Model) -> dict[str, list[Tile]]:
    """Per member, tiles of the held-out photos (of the first CANDIDATES) where the detector finds one face,
    with the names the model gives each tile on its own."""
    out = {}
    for member in BLACKPINK_MEMBERS:
        found = []
        for path in images_of(BLACKPINK / member)[BLACKPINK_TRAIN_PER_CLASS:][:CANDIDATES]:
            subjects = blackpink_model.extract(path)
            if len(subjects.faces) == 1:
                tile = tile_of(path, subjects.faces[0].box, member)
                found.append(replace(tile, alone=tuple(blackpink_model.predict(tile.image).labels)))
        out[member] = found
    return out


@pytest.fixture(scope="session")
def blackpink_model_file(blackpink_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The blackpink model saved, for the command line."""
    return blackpink_model.save(tmp_path_factory.mktemp("blackpink-model") / "blackpink.wt")
