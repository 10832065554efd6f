"""Fixtures of the collection tests: small photo collections copied from the shared sets, and their index.

The collection holds blackpink photos the blackpink model did not learn from, the group photo,
celebrity5 photos (strangers to the model: every one is `unknown`), broken files, and a hidden folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from collection.photos import CELEBRITY5, add_broken_files, copy_photos, member_photos, stranger_photos
from conftest import BLACKPINK, BLACKPINK_GROUP, require
from whosthat.collection import Index, index
from whosthat.models.model import Model


@pytest.fixture(scope="session")
def model_file(blackpink_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The blackpink model (FaceNet, 4 members) as a file."""
    return blackpink_model.save(tmp_path_factory.mktemp("collection-model") / "blackpink.wt")


@pytest.fixture(scope="session")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 member photos, the group photo, 10 stranger photos, 3 broken files, a hidden folder and a text file."""
    require(CELEBRITY5)
    require(BLACKPINK)
    root = tmp_path_factory.mktemp("collection")
    copy_photos(root, {f"members/{m}": paths for m, paths in member_photos().items()})
    copy_photos(root, {f"strangers/{n}": paths for n, paths in stranger_photos().items()})
    copy_photos(root, {"group": [BLACKPINK_GROUP], ".hidden": [BLACKPINK_GROUP]})
    add_broken_files(root)
    (root / "notes.txt").write_text("a file that is not a photo\n")
    return root


@pytest.fixture(scope="session")
def built(collection: Path, model_file: Path, session_cache: Path) -> Index:
    """The collection's index, built once by the local engine (into COLLECTION/.whosthat-index)."""
    return index(model_file, collection, cache_dir=session_cache)


@pytest.fixture
def own_collection(collection: Path, tmp_path: Path) -> Path:
    """A copy of the collection (without its index) that a test may change."""
    return Path(shutil.copytree(collection, tmp_path / "photos", ignore=shutil.ignore_patterns(".whosthat-index")))
