"""The photos of a collection: every image file under its folder (hidden folders and files left out), with the
size and modification time that tell a changed photo from an unchanged one without reading it.

The walk enters each folder once, known by its device and inode, so that symbolic links cannot make it loop
(`ln -s .. loop`) or grow without end (`ln -s . a; ln -s . b`), and takes each file once, so that a photo
reached through two links, or a hard link, is one photo. Links are followed last: everything reachable without
them keeps its own name, and a link adds only what is not reached otherwise. A link to a folder or photo outside
the collection is followed (once): its photos belong to the collection under the link's name, and their `path`
goes through the link. Folders that cannot be opened are reported, not silently left out: the indexer keeps
the photos it already holds from them.

A photo's name in the index is its path relative to the collection, with /; a name that is not valid UTF-8
(undecodable bytes, kept by Python as surrogates) cannot be stored as text, so `index_name` escapes each such
byte as `\\xHH` and a backslash as `\\\\`; `photo_path` turns a stored name back into the file.
"""

from __future__ import annotations

import os
import re
import stat
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from whosthat.collection.schema import IndexFileError
from whosthat.core.paths import inside, printable
from whosthat.vision.images import is_image_path

#: A name's escapes: a backslash, or an undecodable byte.
ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


@dataclass(frozen=True)
class PhotoFile:
    """A photo of the collection: its path, its name in the index (relative, with /), size and mtime."""

    path: Path
    name: str
    size: int
    mtime_ns: int


@dataclass(frozen=True)
class FolderError:
    """A folder of the collection that could not be opened: its name (as `PhotoFile.name`), its path and why."""

    name: str
    path: Path
    reason: str

    def __str__(self) -> str:
        return (f"{printable(str(self.path))}: folder could not be read ({self.reason}); its photos in the index "
                "are kept")


@dataclass(frozen=True)
class Scan:
    """What a walk of the collection found: the photos, sorted by name, and the folders it could not open."""

    photos: list[PhotoFile]
    unreadable: list[FolderError] = field(default_factory=list)

    def under_unreadable(self, name: str) -> bool:
        """Whether the photo `name` lies in a folder that could not be read (it may be there still)."""
        return any(name.startswith(folder.name + "/") for folder in self.unreadable)


def index_name(name: str) -> str:
    """A relative path as the index stores it: itself when it is UTF-8 without a backslash; else with each
    undecodable byte as `\\xHH` and each backslash as `\\\\`, so that two files never get one name."""
    if "\\" not in name and not any("\udc80" <= c <= "\udcff" for c in name):
        return name
    return "".join("\\\\" if c == "\\" else f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else c
                   for c in name)


def photo_path(root: Path, name: str) -> Path:
    """The file of the collection at `root` that the index's `name` stands for (`index_name` undone); a name that
    would lead outside `root` is refused (`UnsafePathError`)."""
    real = ESCAPE.sub(lambda m: "\\" if m[1] == "\\" else chr(0xDC00 + int(m[1][1:], 16)), name)
    # A backslash is an ordinary character of a POSIX file name; `inside` refuses it in names from elsewhere.
    inside(root, real.replace("\\", "_"))
    return Path(root).joinpath(*real.split("/"))


def scan_collection(root: Path, skip: tuple[Path, ...] = ()) -> Scan:
    """Every image under `root`, sorted by name, and the folders that could not be opened; folders in `skip`
    (the index itself) are left out."""
    root = Path(root)
    if not root.exists():
        raise IndexFileError(f"{root}: no such collection folder")
    if not root.is_dir():
        raise IndexFileError(f"{root}: is a file, not a folder of photos")
    walk = _Walk(root.resolve(), skip)
    if walk.unreadable and walk.unreadable[0].name == "":
        raise IndexFileError(f"{root}: the collection folder cannot be read ({walk.unreadable[0].reason})")
    return Scan(sorted(walk.photos, key=lambda p: p.name), walk.unreadable)


class _Walk:
    """One walk of a collection (see the module): folders and files are each taken once, links last."""

    def __init__(self, root: Path, skip: tuple[Path, ...]) -> None:
        self.photos: list[PhotoFile] = []
        self.unreadable: list[FolderError] = []
        self._folders_seen: set[tuple[int, int]] = set()
        self._files_seen: set[tuple[int, int]] = set()
        for folder in skip:
            try:
                self._folders_seen.add(_identity(os.stat(folder)))
            except OSError:  # not made yet: nothing of it to skip
                pass
        links: deque[tuple[Path, str]] = deque()
        self._folder(root, "", links)
        while links:
            path, name = links.popleft()
            try:
                target = os.stat(path)
            except OSError:  # a broken link, or one that loops: nothing there
                continue
            if stat.S_ISDIR(target.st_mode):
                self._folder(path, name, links)
            elif stat.S_ISREG(target.st_mode) and is_image_path(path):
                self._photo(path, name, target)

    def _folder(self, top: Path, top_name: str, links: deque[tuple[Path, str]]) -> None:
        """The photos under `top` reached without links (a stack, not recursion: a deep tree is fine); the links
        met are queued in `links`."""
        stack = [(top, top_name)]
        while stack:
            folder, name = stack.pop()
            try:
                identity = _identity(os.stat(folder))
            except OSError:  # gone while we looked
                continue
            if identity in self._folders_seen:
                continue
            self._folders_seen.add(identity)
            try:
                with os.scandir(folder) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError as error:
                self.unreadable.append(FolderError(index_name(name), folder, _why(error)))
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                path = Path(entry.path)
                child = f"{name}/{entry.name}" if name else entry.name
                try:
                    if entry.is_symlink():
                        links.append((path, child))
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((path, child))
                    elif entry.is_file(follow_symlinks=False) and is_image_path(path):
                        self._photo(path, child, entry.stat(follow_symlinks=False))
                except OSError:  # gone while we looked: not a photo of the collection now
                    continue

    def _photo(self, path: Path, name: str, status: os.stat_result) -> None:
        identity = _identity(status)
        if identity not in self._files_seen:
            self._files_seen.add(identity)
            self.photos.append(PhotoFile(path, index_name(name), status.st_size, status.st_mtime_ns))


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _why(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()
