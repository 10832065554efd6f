"""Names read from files (a class in a model, a photo's path in an index, an entry of a sort record) turned into
paths that stay where they belong, and file names that the file system accepts and a terminal shows as they are."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from whosthat.errors import WhosthatError

#: The longest file name (in bytes, UTF-8) most file systems accept (ext4, APFS, NTFS: 255).
NAME_MAX = 255


class UnsafePathError(WhosthatError):
    """A name read from a file would lead outside the folder it belongs in (absolute, `..`, or empty)."""


def inside(root: Path, name: str) -> Path:
    """`root / name` for a relative name with /-separated parts, none of them empty, `.` or `..`; anything else
    (an absolute path, a way up, a NUL, a backslash) is refused with `UnsafePathError` naming it."""
    parts = PurePosixPath(name).parts
    if (not name or "\0" in name or "\\" in name or PurePosixPath(name).is_absolute()
            or any(p in ("", ".", "..") for p in parts) or name.endswith("/")):
        raise UnsafePathError(f"{printable(name)!s}: not a name that stays inside {root}")
    return Path(root).joinpath(*parts)


def folder_name(name: str) -> str:
    """`name` as one path component (a member's folder): refused when it is not a plain name."""
    if "/" in name:
        raise UnsafePathError(f"{printable(name)}: a name with a slash cannot be a folder's name")
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
