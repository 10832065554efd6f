"""One writer at a time per index: an advisory lock on `.lock`, released by the system when its process dies."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Optional

from whosthat.collection.schema import IndexWriteError
from whosthat.core.errors import WhosthatError

LOCK_FILE = ".lock"


class IndexBusyError(WhosthatError):
    """Another run is writing the index."""


class IndexLock:
    """`with IndexLock(directory):` holds the index for writing; a second holder waits up to `wait` seconds
    (0: refuses at once) and then raises `IndexBusyError` naming the process that holds it; a folder where the
    lock cannot be made (read-only, not ours) is `IndexWriteError`."""

    def __init__(self, directory: Path, wait: float = 0.0) -> None:
        self.path = Path(directory) / LOCK_FILE
        self.wait = wait
        self._handle: Optional[int] = None

    def __enter__(self) -> IndexLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise IndexWriteError(f"{self.path.parent}: cannot be written ({(error.strerror or str(error)).lower()}); "
                                  "give an index folder where you can write with --index DIR") from None
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
                    os.close(handle)
                    raise IndexBusyError(
                        f"{self.path.parent}: another run (process {holder}) is writing this index; try again when "
                        "it has finished (or pass --wait SECONDS)") from None
                time.sleep(0.2)
        try:  # who holds it, for the message of a second run (a full disk leaves it out: the lock holds anyway)
            os.ftruncate(handle, 0)
            os.pwrite(handle, str(os.getpid()).encode(), 0)
        except OSError:
            pass
        self._handle = handle
        return self

    def __exit__(self, *_: object) -> None:
        if self._handle is not None:
            try:
                os.ftruncate(self._handle, 0)
            except OSError:
                pass
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            os.close(self._handle)
            self._handle = None
