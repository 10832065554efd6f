"""Fixtures of the review tests: a small real collection (blackpink members, the group photo, two recurring
celebrity5 strangers) indexed once by the blackpink model, and a fresh copy of that index for each test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from collection.photos import CELEBRITY5, copy_photos, member_photos, stranger_photos
from conftest import BLACKPINK, BLACKPINK_GROUP, require
from whosthat.collection import Index, index
from whosthat.models.model import Model

GROUP = f"group/{BLACKPINK_GROUP.name}"


@pytest.fixture(scope="session")
def review_pristine(blackpink_model: Model, session_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index folder of 2 photos per member, the group photo and 5 photos of each of two strangers."""
    require(CELEBRITY5)
    require(BLACKPINK)
    root = tmp_path_factory.mktemp("review")
    photos = copy_photos(root / "photos", {**{f"members/{m}": p for m, p in member_photos(2).items()},
                                           **{f"strangers/{n}": p for n, p in stranger_photos().items()},
                                           "group": [BLACKPINK_GROUP]})
    model_file = blackpink_model.save(root / "blackpink.wt")
    return index(model_file, photos, index=root / "index", cache_dir=session_cache).directory


@pytest.fixture
def review_index(review_pristine: Path, tmp_path: Path) -> Index:
    """A copy of the pristine index that the test may correct and relabel."""
    return Index(shutil.copytree(review_pristine, tmp_path / "index"))
