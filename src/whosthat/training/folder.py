"""Photo collections: a folder per class, scanned into items, and the stratified split."""

from __future__ import annotations

import os
import random
import unicodedata
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from whosthat.core.errors import DatasetError
from whosthat.core.walk import walk
from whosthat.models.records import Split
from whosthat.vision.cache import content_hash
from whosthat.vision.images import is_image_path


@dataclass(frozen=True)
class Item:
    """One labelled photo: its path and its class name."""

    path: Path
    label: str


@dataclass
class TrainingFolder:
    """The photos of a folder-per-class collection, with what was skipped and why."""

    root: Path
    classes: list[str]
    items: list[Item]
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def counts(self) -> Counter:
        """Photos per class."""
        return Counter(item.label for item in self.items)


def class_name(folder_name: str) -> str:
    """The class a folder names: Unicode NFC, so `Rosé` typed either way is one class."""
    return unicodedata.normalize("NFC", folder_name).strip()


def scan(root: str | os.PathLike) -> TrainingFolder:
    """Scan `root/<class>/<image>`; hidden files and non-images are skipped and counted.

    Raises `DatasetError` when the folder is missing or holds no class with an image.
    Class folders with no image are skipped with a reason (an empty class cannot be learned).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder (expected one sub-folder of photos per person)")
    by_class: dict[str, list[Item]] = {}
    skipped: list[tuple[Path, str]] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        label = class_name(folder.name)
        found = walk(folder, hidden=True)
        skipped += [(f.path, "hidden file") for f in found.hidden]
        skipped += [(u.path, f"folder could not be read ({u.reason})") for u in found.unreadable]
        for file in found.files:
            if not is_image_path(file.path):
                skipped.append((file.path, "not an image file"))
            else:
                by_class.setdefault(label, []).append(Item(file.path, label))
        if label not in by_class:
            skipped.append((folder, "class folder holds no image: skipped"))
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        skipped.append((path, "file outside any class folder"))
    if not by_class:
        raise DatasetError(f"{root}: no class folder with images (expected {root}/<person>/<photo>.jpg)")
    classes = sorted(by_class)
    return TrainingFolder(root, classes, [item for c in classes for item in by_class[c]], skipped)


def content_keys(items: Iterable[Item]) -> dict[Path, str]:
    """Each photo's content hash (the cache's key): byte-identical copies share one, whatever their
    names and folders. A file that cannot be read keys by its path (training says why later)."""
    def key(item: Item) -> str:
        try:
            return content_hash(item.path.read_bytes())
        except OSError:
            return str(item.path)

    items = list(items)
    with ThreadPoolExecutor(4) as pool:
        return dict(zip((item.path for item in items), pool.map(key, items)))


def without_copies(items: Iterable[Item], learned: Container[str], keys: Mapping[Path, str]
                   ) -> tuple[list[Item], list[Item]]:
    """(the items that are not byte-identical copies of photos with the content keys `learned`, those that are)."""
    kept: list[Item] = []
    copies: list[Item] = []
    for item in items:
        (copies if keys.get(item.path) in learned else kept).append(item)
    return kept, copies


#: Photos a class needs before the split holds any out for validation and testing.
HELD_OUT_FROM = 3


def stratified_split(collection: TrainingFolder, *, val_fraction: float = 0.15, test_fraction: float = 0.2,
                     seed: int = 0, keys: Optional[Mapping[Path, str]] = None) -> Split:
    """Per class, shuffle with `seed` and cut into train/validation/test.

    Every class keeps at least one training photo; a class of `HELD_OUT_FROM` or more photos gets
    at least one validation and, when `test_fraction` > 0, one test photo. With `keys`
    (`content_keys`), byte-identical copies never straddle two parts, so no test photo has a copy
    the model learned from: within a class the copies are shuffled and cut as one photo, and a
    copy filed under another class goes to the earliest part (train, then validation) any copy is in.
    """
    rng = random.Random(seed)
    train: list[str] = []
    val: list[str] = []
    test: list[str] = []
    key_of: dict[str, str] = {}
    for label in collection.classes:
        copies: dict[str, list[str]] = {}
        for item in collection.items:
            if item.label == label:
                relative = item.path.relative_to(collection.root).as_posix()
                key_of[relative] = keys.get(item.path, relative) if keys else relative
                copies.setdefault(key_of[relative], []).append(relative)
        units = list(copies.values())
        rng.shuffle(units)
        n = len(units)
        n_test = round(n * test_fraction)
        n_val = round(n * val_fraction)
        if n >= HELD_OUT_FROM:
            n_test = max(n_test, 1 if test_fraction > 0 else 0)
            n_val = max(n_val, 1)
        while n_test + n_val > n - 1 and (n_test or n_val):
            if n_test >= n_val and n_test:
                n_test -= 1
            else:
                n_val -= 1
        test += [relative for unit in units[:n_test] for relative in unit]
        val += [relative for unit in units[n_test:n_test + n_val] for relative in unit]
        train += [relative for unit in units[n_test + n_val:] for relative in unit]
    earliest: dict[str, int] = {}
    for k, part in enumerate((train, val, test)):
        for relative in part:
            earliest.setdefault(key_of[relative], k)
    everything = train + val + test
    train, val, test = ([p for p in everything if earliest[key_of[p]] == k] for k in range(3))
    return Split(tuple(sorted(train)), tuple(sorted(val)), tuple(sorted(test)), seed)
