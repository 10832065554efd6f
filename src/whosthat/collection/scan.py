"""The photos of a collection: every image file under its folder (hidden folders and files left out), with the
size and modification time that tell a changed photo from an unchanged one without reading it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from whosthat.collection.schema import IndexFileError
from whosthat.images import is_image_path


@dataclass(frozen=True)
class PhotoFile:
    """A photo of the collection: its path, its name in the index (relative, with /), size and mtime."""

    path: Path
    name: str
    size: int
    mtime_ns: int


def scan_collection(root: Path, skip: tuple[Path, ...] = ()) -> list[PhotoFile]:
    """Every image under `root`, sorted by name; folders in `skip` (the index itself) are left out."""
    root = Path(root)
    if not root.exists():
        raise IndexFileError(f"{root}: no such collection folder")
    if not root.is_dir():
        raise IndexFileError(f"{root}: is a file, not a folder of photos")
    skipped = {p.resolve() for p in skip}
    return sorted(_walk(root.resolve(), root.resolve(), skipped), key=lambda p: p.name)


def _walk(root: Path, folder: Path, skipped: set[Path]) -> Iterator[PhotoFile]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir():
                if path.resolve() not in skipped:
                    yield from _walk(root, path, skipped)
            elif entry.is_file() and is_image_path(path):
                stat = entry.stat()
                yield PhotoFile(path, path.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns)
        except OSError:  # gone while we looked, or a broken link: not a photo of the collection now
            continue
