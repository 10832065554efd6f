"""Names read from files (a class in a model, a photo's path in an index, an entry of a sort record) turned into
paths that stay where they belong, file names that the file system accepts and a terminal shows as they are, and
the one-line error for a place that cannot be written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from whosthat.core.errors import WhosthatError

#: The longest file name (in bytes, UTF-8) most file systems accept (ext4, APFS, NTFS: 255).
NAME_MAX = 255


class UnsafePathError(WhosthatError):
    """A name read from a file would lead outside the folder it belongs in (absolute, `..`, or empty)."""


def inside(root: Path, name: str) -> Path:
    """`root / name` for a relative name with /-separated parts, none of them empty, `.` or `..`; anything else
    (an absolute path, a way up, a NUL, a backslash) is refused with `UnsafePathError` naming it."""
    parts = name.split("/")
    if "\0" in name or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise UnsafePathError(f"{printable(name)}: not a name that stays inside {root}")
    return Path(root).joinpath(*parts)


def folder_name(name: str) -> str:
    """`name` as one path component (a member's folder, a file in it), fitted to the file system (`fit_name`);
    refused when it is not a plain name, or a hidden one (`.x`: hidden from the user, and where whosthat keeps its
    own records)."""
    if "/" in name or name.startswith("."):
        raise UnsafePathError(f"{printable(name)}: not a plain name for a folder or a file (a slash, or hidden)")
    inside(Path("."), name)
    return fit_name(name)


def fit_name(name: str, limit: int = NAME_MAX) -> str:
    """`name` shortened, when its UTF-8 is over `limit` bytes, to a prefix plus 8 hex digits of its hash, keeping
    the suffix: two long names stay two names, and the same long name gives the same short one each time."""
    encoded = os.fsencode(name)
    if len(encoded) <= limit:
        return name
    suffix = PurePosixPath(name).suffix
    suffix = suffix if len(os.fsencode(suffix)) <= 16 else ""
    tag = "-" + hashlib.sha256(encoded).hexdigest()[:8]
    room = limit - len(os.fsencode(suffix)) - len(tag)
    stem = os.fsencode(name[: len(name) - len(suffix)] if suffix else name)[:room]
    return stem.decode("utf-8", errors="ignore") + tag + suffix


def printable(text: str) -> str:
    """`text` for one line of output: control characters (a newline in a file name) and undecodable bytes
    escaped, everything else as it is."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


class UnwritableError(WhosthatError):
    """A place to write (a folder, a file) that cannot be written: read-only, a file where a folder must be, a
    folder where a file must be, a full disk."""


#: Why a place cannot be written, in words, where the system's words are obscure.
_IN_THE_WAY = {FileExistsError: "a file is where a folder must be", NotADirectoryError: "a file is where a folder "
               "must be", IsADirectoryError: "a folder is where a file must be"}


@contextmanager
def writing(place: Path, what: str) -> Iterator[None]:
    """Turn an `OSError` raised inside into one `UnwritableError` line: the file the system named (the target of a
    rename or a link, else the file, else `place`), what could not be written there, and why."""
    try:
        yield
    except OSError as error:
        named = error.filename2 if error.filename2 is not None else error.filename
        where = os.fsdecode(named) if named is not None else str(place)
        why = _IN_THE_WAY.get(type(error)) or error.strerror or str(error)
        raise UnwritableError(f"{printable(where)}: cannot write {what} ({why})") from None
