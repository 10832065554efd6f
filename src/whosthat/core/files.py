"""Files written whole or not at all: a temporary file beside the target, synced, then renamed over it.

Every file whosthat writes (model files, reports, index records, sorted copies, videos, converted weights) goes
through here, so that a run stopped midway never leaves half a file nor destroys the previous one, and every
file gets the permissions a new file gets (mkstemp's are 0600).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

#: Temporary files are `.whosthat-XXXXXXXX.tmp`: short, so that any name the file system takes for the target
#: still fits, and recognisable as whosthat's own when a stopped run left one behind.
TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".whosthat-", ".tmp"

_UMASK = os.umask(0)
os.umask(_UMASK)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of `Replacement`'s temporary files."""
    return name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)


class Replacement:
    """A temporary file beside `path` to write (`temporary`), then `commit()` to rename it over `path`, or
    `discard()`. A folder at `path` is refused at once (`IsADirectoryError`), before anything is written."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if self.path.is_dir():  # refused before a temporary file is made; callers name what they were writing
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=TEMPORARY_SUFFIX, dir=self.path.parent)
        os.close(handle)
        self.temporary = Path(temporary)
        os.chmod(self.temporary, 0o666 & ~_UMASK)

    def commit(self) -> Path:
        """Sync the temporary file and rename it over `path`."""
        handle = os.open(self.temporary, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)
        os.replace(self.temporary, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file; `path` stays as it was."""
        self.temporary.unlink(missing_ok=True)


@contextmanager
def replacing(path: str | os.PathLike) -> Iterator[Path]:
    """`with replacing(path) as temporary:` write `temporary` (by its path); it replaces `path` when the block
    ends without an error, and is removed when it raises."""
    replacement = Replacement(path)
    try:
        yield replacement.temporary
        replacement.commit()
    except BaseException:
        replacement.discard()
        raise


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """`with atomic_file(path) as stream:` a temporary file open for writing bytes, which replaces `path` when the
    block ends without an error."""
    with replacing(path) as temporary, open(temporary, "wb") as stream:
        yield stream


def write_atomically(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) to `path` whole or not at all."""
    with atomic_file(path) as stream:
        stream.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def copy_atomically(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy `source` (bytes and times) to `path` whole or not at all."""
    with replacing(path) as temporary:
        shutil.copy2(source, temporary)
    return Path(path)
