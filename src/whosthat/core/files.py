"""Files written whole or not at all: a temporary file beside the target, synced, then renamed over it.

Every file whosthat writes (model files, reports, index records, sorted copies, videos, converted weights) goes
through here, so that a run stopped midway never leaves half a file nor destroys the previous one, and every
file gets the permissions a new file gets (mkstemp's are 0600). Where the user names the file (`--out`,
`--annotate`, `--html`), the writer passes `ours`, which recognises the files of its kind that whosthat wrote:
any other file already there is left as it is.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Optional

from whosthat.core.errors import WhosthatError
from whosthat.core.paths import printable

#: Temporary files are `.whosthat-XXXXXXXX.tmp`: short, so that any name the file system takes for the target
#: still fits, and recognisable as whosthat's own when a stopped run left one behind.
TEMPORARY_PREFIX, TEMPORARY_SUFFIX = ".whosthat-", ".tmp"

_UMASK = os.umask(0)
os.umask(_UMASK)


def is_temporary(name: str) -> bool:
    """Whether a file name is one of `Replacement`'s temporary files."""
    return name.startswith(TEMPORARY_PREFIX) and name.endswith(TEMPORARY_SUFFIX)


class NotOursError(WhosthatError):
    """A file whosthat was asked to write over that whosthat did not write: it is left as it is."""


#: Whether an existing file is one whosthat wrote (by a mark it leaves in the files of that kind).
Ours = Callable[[Path], bool]


class Replacement:
    """A temporary file beside `path` to write (`temporary`), then `commit()` to rename it over `path`, or
    `discard()`. A folder at `path` is refused at once (`IsADirectoryError`), and so is a file that `ours` does not
    recognise as whosthat's own (`NotOursError`): whosthat replaces only files it wrote."""

    def __init__(self, path: str | os.PathLike, ours: Optional[Ours] = None) -> None:
        self.path = Path(path)
        if self.path.is_dir():  # refused before a temporary file is made; callers name what they were writing
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(self.path))
        if ours is not None and self.path.exists() and not ours(self.path):
            raise NotOursError(f"{printable(str(self.path))}: a file whosthat did not write is there; it is left as it "
                               "is: move it away or choose another name")
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
def replacing(path: str | os.PathLike, ours: Optional[Ours] = None) -> Iterator[Path]:
    """`with replacing(path) as temporary:` write `temporary` (by its path); it replaces `path` when the block
    ends without an error, and is removed when it raises (`ours`: see `Replacement`)."""
    replacement = Replacement(path, ours)
    try:
        yield replacement.temporary
        replacement.commit()
    except BaseException:
        replacement.discard()
        raise


@contextmanager
def atomic_file(path: str | os.PathLike, ours: Optional[Ours] = None) -> Iterator[BinaryIO]:
    """`with atomic_file(path) as stream:` a temporary file open for writing bytes, which replaces `path` when the
    block ends without an error (`ours`: see `Replacement`)."""
    with replacing(path, ours) as temporary, open(temporary, "wb") as stream:
        yield stream


def write_atomically(path: str | os.PathLike, data: bytes | str, ours: Optional[Ours] = None) -> Path:
    """Write `data` (text as UTF-8) to `path` whole or not at all (`ours`: see `Replacement`)."""
    with atomic_file(path, ours) as stream:
        stream.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def copy_atomically(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy `source` (bytes and times) to `path` whole or not at all."""
    with replacing(path) as temporary:
        shutil.copy2(source, temporary)
    return Path(path)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, hex, read a block at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
