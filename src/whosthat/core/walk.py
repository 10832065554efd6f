"""One walk of a folder tree, used wherever whosthat looks for photos (a collection, a training folder, the
folders given to `predict`), with one set of rules.

The walk enters each folder once, known by its device and inode, so that symbolic links cannot make it loop
(`ln -s .. loop`) or grow without end (`ln -s . a; ln -s . b`), and takes each file once, so that a file reached
through two links, or a hard link, is one file. Links are followed last: everything reachable without them keeps
its own name, and a link adds only what is not reached otherwise; a link to a folder or file outside the tree is
followed (once) and its files are named through the link. Hidden entries (names starting with ".") are left out,
or listed apart with `hidden=True`. Folders that cannot be opened are reported, never silently left out.
"""

from __future__ import annotations

import os
import stat
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class FoundFile:
    """A file of the tree: its path, its name relative to the root (with /) and its status (size, mtime)."""

    path: Path
    name: str
    status: os.stat_result


@dataclass(frozen=True)
class UnreadableFolder:
    """A folder of the tree that could not be opened: its relative name ("" for the root), its path and why."""

    name: str
    path: Path
    reason: str


@dataclass
class Walk:
    """What a walk found: the files (sorted by name), the hidden files (with `hidden=True`), and the folders it
    could not open."""

    files: list[FoundFile] = field(default_factory=list)
    hidden: list[FoundFile] = field(default_factory=list)
    unreadable: list[UnreadableFolder] = field(default_factory=list)


def walk(root: Path, *, accept: Callable[[Path], bool] = lambda path: True, skip: Iterable[Path] = (),
         hidden: bool = False) -> Walk:
    """Every regular file under `root` whose path `accept` takes, once (see the module); folders in `skip` are left
    out; with `hidden`, the files under hidden names are walked too and listed in `Walk.hidden`. A file is one
    file by its device and inode among those accepted: a name `accept` refuses never hides another name of it."""
    return _Walker(Path(root), accept, skip, hidden).result


class _Walker:
    def __init__(self, root: Path, accept: Callable[[Path], bool], skip: Iterable[Path], hidden: bool) -> None:
        self.result = Walk()
        self._accept = accept
        self._hidden = hidden
        self._folders_seen: set[tuple[int, int]] = set()
        self._files_seen: set[tuple[int, int]] = set()
        for folder in skip:
            try:
                self._folders_seen.add(_identity(os.stat(folder)))
            except OSError:  # not made yet: nothing of it to skip
                pass
        links: deque[tuple[Path, str, bool]] = deque()
        self._folder(root, "", False, links)
        while links:
            path, name, is_hidden = links.popleft()
            try:
                target = os.stat(path)
            except OSError:  # a broken link, or one that loops: nothing there
                continue
            if stat.S_ISDIR(target.st_mode):
                self._folder(path, name, is_hidden, links)
            elif stat.S_ISREG(target.st_mode):
                self._file(path, name, target, is_hidden)
        self.result.files.sort(key=lambda f: f.name)
        self.result.hidden.sort(key=lambda f: f.name)

    def _folder(self, top: Path, top_name: str, top_hidden: bool, links: deque[tuple[Path, str, bool]]) -> None:
        """The files under `top` reached without links (a stack, not recursion: a deep tree is fine); the links
        met are queued in `links`."""
        stack = [(top, top_name, top_hidden)]
        while stack:
            folder, name, is_hidden = stack.pop()
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
                self.result.unreadable.append(UnreadableFolder(name, folder, _why(error)))
                continue
            for entry in entries:
                entry_hidden = is_hidden or entry.name.startswith(".")
                if entry_hidden and not self._hidden:
                    continue
                path = Path(entry.path)
                child = f"{name}/{entry.name}" if name else entry.name
                try:
                    if entry.is_symlink():
                        links.append((path, child, entry_hidden))
                    elif entry.is_dir(follow_symlinks=False):
                        stack.append((path, child, entry_hidden))
                    elif entry.is_file(follow_symlinks=False):
                        self._file(path, child, entry.stat(follow_symlinks=False), entry_hidden)
                except OSError:  # gone while we looked
                    continue

    def _file(self, path: Path, name: str, status: os.stat_result, is_hidden: bool) -> None:
        identity = _identity(status)
        if identity not in self._files_seen and self._accept(path):
            self._files_seen.add(identity)
            (self.result.hidden if is_hidden else self.result.files).append(FoundFile(path, name, status))


def _identity(status: os.stat_result) -> tuple[int, int]:
    return status.st_dev, status.st_ino


def _why(error: OSError) -> str:
    return (error.strerror or type(error).__name__).lower()
