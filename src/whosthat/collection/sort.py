"""`sort_index`: a folder per member (and `unknown/`) of links to, or copies of, the collection's photos.

A photo goes in the folder of every member named in it, and in `unknown/` when faces were found but no
member named. The user's photos are never moved or deleted: sorting again (after the collection grew or
was relabelled) adds what is new and removes only the links and copies it made itself that are no longer
wanted, as recorded in the folder's `.whosthat-sort.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from whosthat.collection.store import IndexStore, write_atomically
from whosthat.errors import WhosthatError
from whosthat.prediction import UNKNOWN_LABEL

SORT_MANIFEST = ".whosthat-sort.json"
MODES = ("link", "copy")


@dataclass(frozen=True)
class SortReport:
    """What a sort did: photos per folder, files made and removed, and targets left alone because a file of
    somebody else's was already there."""

    into: Path
    mode: str
    folders: dict[str, int]
    made: int
    kept: int
    removed: int
    left_alone: tuple[str, ...] = ()
    no_face: int = 0
    unreadable: int = 0
    notes: list[str] = field(default_factory=list)


def sort_index(store: IndexStore, into: Path, mode: str = "link") -> SortReport:
    """Sort the index's photos into `into` (see the module). mode: "link" (symbolic links) or "copy"."""
    if mode not in MODES:
        raise WhosthatError(f"unknown sort mode {mode!r}: choose one of {', '.join(MODES)}")
    root = Path(store.manifest.collection)
    into = Path(into).absolute()
    if into.resolve() == root or root in into.resolve().parents:
        raise WhosthatError(f"{into}: is inside the collection {root}; the sorted photos would be indexed again: "
                            "sort into a folder outside it")
    if into.is_file():
        raise WhosthatError(f"{into}: is a file, not a folder")
    wanted, no_face, unreadable = _layout(store)
    previous = _read_manifest(into)
    into.mkdir(parents=True, exist_ok=True)
    made = kept = removed = 0
    left_alone: list[str] = []
    done: dict[str, dict] = {}
    for target, source in wanted.items():
        path = into / target
        record = previous.get(target)
        if os.path.lexists(path):
            if record is None or not _ours(path, record):
                left_alone.append(target)
                continue
            if record["source"] == str(source) and record["mode"] == mode and _current(path, source, mode):
                done[target] = record
                kept += 1
                continue
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        done[target] = _make(path, source, mode)
        made += 1
    for target, record in previous.items():
        path = into / target
        if target not in done and os.path.lexists(path) and _ours(path, record):
            path.unlink()
            removed += 1
    write_atomically(into / SORT_MANIFEST, json.dumps({"collection": str(root), "entries": done}, indent=1,
                                                       ensure_ascii=False).encode())
    folders = Counter(str(PurePosixPath(t).parent) for t in wanted)
    return SortReport(into, mode, dict(sorted(folders.items())), made, kept, removed, tuple(left_alone), no_face,
                      unreadable)


def _layout(store: IndexStore) -> tuple[dict[str, Path], int, int]:
    """{target inside the folder: photo}: every member's photos, then unknown/; and the photos left out."""
    root = Path(store.manifest.collection)
    rows = store.scan(["path", "content_hash", "face", "label", "error"]).to_pylist()
    labels: dict[str, set[str]] = defaultdict(set)
    hashes: dict[str, str] = {}
    no_face = unreadable = 0
    for row in rows:
        hashes[row["path"]] = row["content_hash"]
        if row["face"] < 0:
            no_face += row["error"] is None
            unreadable += row["error"] is not None
        else:
            labels[row["path"]].add(row["label"])
    base_names = Counter(PurePosixPath(p).name for p in labels)
    wanted: dict[str, Path] = {}
    for path in sorted(labels):
        members = sorted(labels[path] - {UNKNOWN_LABEL}) or [UNKNOWN_LABEL]
        name = PurePosixPath(path)
        file_name = name.name if base_names[name.name] == 1 else f"{name.stem}-{hashes[path][:8]}{name.suffix}"
        for member in members:
            wanted[f"{member}/{file_name}"] = root / path
    return wanted, no_face, unreadable


def _read_manifest(into: Path) -> dict[str, dict]:
    try:
        return dict(json.loads((into / SORT_MANIFEST).read_text(encoding="utf-8"))["entries"])
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise WhosthatError(f"{into / SORT_MANIFEST}: unreadable ({error}); move it aside to sort afresh") from None


def _make(path: Path, source: Path, mode: str) -> dict:
    """A link or a copy (through a temporary file and a rename) of `source` at `path`, and its record."""
    if mode == "link":
        path.symlink_to(source)
        return {"source": str(source), "mode": mode}
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        shutil.copy2(source, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    stat = path.stat()
    return {"source": str(source), "mode": mode, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _ours(path: Path, record: dict) -> bool:
    """Whether the file at `path` is still the link or the untouched copy this sort made."""
    if record.get("mode") == "link":
        return path.is_symlink() and os.readlink(path) == record["source"]
    try:
        stat = path.lstat()
    except OSError:
        return False
    return not path.is_symlink() and stat.st_size == record.get("size") and stat.st_mtime_ns == record.get("mtime_ns")


def _current(path: Path, source: Path, mode: str) -> bool:
    """Whether a copy is as new as its photo (a link always is)."""
    if mode == "link":
        return True
    try:
        return source.stat().st_mtime_ns == path.stat().st_mtime_ns
    except OSError:
        return False
