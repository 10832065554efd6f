"""The photos of a collection: every image file under its folder (hidden folders and files left out), with the
size and modification time that tell a changed photo from an unchanged one without reading it.

The folder is walked by `whosthat.core.walk`: each folder and file once (links cannot loop, a photo reached twice
is one photo), links last, a link to a folder or photo outside the collection followed once (its photos belong to
the collection under the link's name). Folders that cannot be opened are reported, not silently left out: the
indexer keeps the photos it already holds from them.

A photo's name in the index is its path relative to the collection, with /; a name that is not valid UTF-8
(undecodable bytes, kept by Python as surrogates) cannot be stored as text, so `index_name` escapes each such
byte as `\\xHH` and a backslash as `\\\\`; `photo_path` turns a stored name back into the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from whosthat.collection.schema import IndexFileError
from whosthat.core.paths import inside, printable
from whosthat.core.walk import walk
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
    """Every image under `root` (`whosthat.core.walk`), sorted by name, and the folders that could not be opened;
    folders in `skip` (the index itself) are left out."""
    root = Path(root)
    if not root.exists():
        raise IndexFileError(f"{root}: no such collection folder")
    if not root.is_dir():
        raise IndexFileError(f"{root}: is a file, not a folder of photos")
    found = walk(root.resolve(), accept=is_image_path, skip=skip)
    if found.unreadable and found.unreadable[0].name == "":
        raise IndexFileError(f"{root}: the collection folder cannot be read ({found.unreadable[0].reason})")
    photos = [PhotoFile(f.path, index_name(f.name), f.status.st_size, f.status.st_mtime_ns)
              for f in found.files]
    return Scan(sorted(photos, key=lambda p: p.name),
                [FolderError(index_name(u.name), u.path, u.reason) for u in found.unreadable])
