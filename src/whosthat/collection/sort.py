"""`sort_index`: a folder per member (and `unknown/`) of links to, or copies of, the collection's photos.

A photo goes in the folder of every member named in it, and in `unknown/` when faces were found but no
member named.

whosthat deletes or overwrites only files it wrote itself and recorded. The user's photos are never moved or
deleted. Every link and copy a sort makes is recorded in the folder's `.whosthat-sort.json` (also when the run
fails midway, so the next run owns what this one made); sorting again (after the collection grew or was
relabelled) adds what is new and removes only recorded links and copies, untouched since, that are no longer
wanted. A copy whose photo is gone is kept: the user may have deleted the photo because the copy was there.

Names read from files (the members of the model, the photos' paths in the index, the entries of the record) are
checked by `whosthat.core.paths` before they become paths: a name that would lead out of the folder is left out with
a note, never written.

A folder holds the sort of one collection: sorting another collection into it is refused. Keeping a record per
collection instead would put two collections' photos in one member folder, where a name taken by one collection
is "left alone" by the other and where a wrong pair of records would let one run remove the other's files; a
folder per collection is as simple for the user and loses nothing.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from whosthat.collection.scan import photo_path
from whosthat.collection.store import IndexStore
from whosthat.core.errors import WhosthatError
from whosthat.core.files import copy_atomically, write_atomically
from whosthat.core.paths import UnsafePathError, folder_name, inside, printable, writing
from whosthat.recognition.prediction import UNKNOWN_LABEL

SORT_MANIFEST = ".whosthat-sort.json"
MODES = ("link", "copy")


class SortError(WhosthatError):
    """A sort that cannot be done as asked: into the collection itself, into another collection's sort, with an
    unreadable record."""


@dataclass(frozen=True)
class SortReport:
    """What a sort did: photos per folder, files made, kept and removed; targets left alone because a file of
    somebody else's was already there; copies kept because their photo is gone; notes on what was left out."""

    into: Path
    mode: str
    folders: dict[str, int]
    made: int
    kept: int
    removed: int
    left_alone: tuple[str, ...] = ()
    originals_gone: tuple[str, ...] = ()
    no_face: int = 0
    unreadable: int = 0
    notes: tuple[str, ...] = ()


def sort_index(store: IndexStore, into: Path, mode: str = "link") -> SortReport:
    """Sort the index's photos into `into` (see the module). mode: "link" (symbolic links) or "copy"."""
    if mode not in MODES:
        raise SortError(f"unknown sort mode {mode!r}: choose one of {', '.join(MODES)}")
    root = Path(store.manifest.collection)
    into = Path(into).absolute()
    if into.resolve() == root or root in into.resolve().parents:
        raise SortError(f"{into}: is inside the collection {root}; the sorted photos would be indexed again: "
                        "sort into a folder outside it")
    if into.is_file():
        raise SortError(f"{into}: is a file, not a folder")
    wanted, no_face, unreadable, notes = _layout(store)
    previous = _read_record(into, root, notes)
    owned = dict(previous)
    made = kept = removed = 0
    left_alone: list[str] = []
    originals_gone: list[str] = []
    folder = str(into)
    try:
        with writing(into, "the sorted photos"):
            into.mkdir(parents=True, exist_ok=True)
            folders_made: set[str] = set()
            for target, source in wanted.items():
                path = os.path.join(folder, target)
                record = owned.get(target)
                there = os.path.lexists(path)
                if there and (record is None or not _ours(path, record)):
                    left_alone.append(target)
                    owned.pop(target, None)
                elif not os.path.exists(source):
                    if there and record is not None and record["mode"] == "copy":
                        originals_gone.append(target)
                    else:
                        notes.append(f"{printable(source)}: gone since it was indexed, not sorted "
                                     "(`whosthat index` brings the index up to date)")
                elif there and record is not None and record["source"] == source and record["mode"] == mode \
                        and _current(path, source, mode):
                    kept += 1
                else:
                    if there and mode == "link":
                        os.unlink(path)
                        del owned[target]
                    try:
                        owned[target] = _make(path, source, mode, folders_made)
                    except OSError as error:
                        if not _reading(error, source):
                            raise
                        notes.append(f"{printable(source)}: not copied ({error.strerror})")
                        continue
                    made += 1
            for target, record in list(owned.items()):
                path = os.path.join(folder, target)
                if target in wanted:
                    continue
                if not os.path.lexists(path) or not _ours(path, record):
                    del owned[target]
                elif record["mode"] == "copy" and not os.path.exists(record["source"]):
                    originals_gone.append(target)
                else:
                    os.unlink(path)
                    del owned[target]
                    removed += 1
    finally:
        if owned != previous:
            with writing(into, "the sort record"):
                write_atomically(into / SORT_MANIFEST, json.dumps({"collection": str(root), "entries": owned},
                                                                   indent=1).encode())
    folders = Counter(t.rsplit("/", 1)[0] for t in wanted)
    return SortReport(into, mode, dict(sorted(folders.items())), made, kept, removed, tuple(left_alone),
                      tuple(originals_gone), no_face, unreadable, tuple(notes))


def _layout(store: IndexStore) -> tuple[dict[str, str], int, int, list[str]]:
    """{target inside the folder: photo's file}: every member's photos, then unknown/; the photos left out
    (without a face, unreadable); and notes on names that cannot be paths, whose photos are left out. The names
    of each photo are gathered on Arrow columns."""
    root = Path(store.manifest.collection)
    faces = store.scan(["path", "content_hash", "label"])
    pairs = faces.group_by(["path", "label"], use_threads=False).aggregate([("content_hash", "min")])
    pairs = pairs.sort_by([("path", "ascending"), ("label", "ascending")])
    unreadable = store.count_photos("error IS NOT NULL")
    no_face = store.count_photos("faces = 0 AND error IS NULL")
    folders: dict[str, str] = {}
    notes: list[str] = []
    for member in sorted(set(pairs["label"].to_pylist())):
        try:
            folders[member] = folder_name(member)
        except UnsafePathError as error:
            notes.append(f"{error}: the photos of member {printable(member)!r} are not sorted")
    labels: dict[str, list[str]] = defaultdict(list)
    hashes: dict[str, str] = {}
    for path, label, content in zip(pairs["path"].to_pylist(), pairs["label"].to_pylist(),
                                    pairs["content_hash_min"].to_pylist()):
        labels[path].append(label)
        hashes[path] = content
    base_names = Counter(p.rsplit("/", 1)[-1] for p in labels)
    wanted: dict[str, str] = {}
    for path, named in labels.items():
        members = [m for m in [n for n in named if n != UNKNOWN_LABEL] or [UNKNOWN_LABEL] if m in folders]
        base = path.rsplit("/", 1)[-1]
        try:
            source = str(photo_path(root, path))
            # The index's name of a photo whose name is not UTF-8 holds `\xHH`: its link is named without the `\`.
            file_name = folder_name((base if base_names[base] == 1 else _with_hash(base, hashes[path]))
                                    .replace("\\", "_"))
        except UnsafePathError as error:
            notes.append(f"{error}: a photo's path in the index, not sorted")
            continue
        for member in members:
            wanted[f"{folders[member]}/{file_name}"] = source
    return wanted, no_face, unreadable, notes


def _with_hash(name: str, content_hash: str) -> str:
    """A file name with the start of its photo's content hash before its suffix: photos of one name in two
    folders get two links."""
    path = PurePosixPath(name)
    return f"{path.stem}-{content_hash[:8]}{path.suffix}"


def _read_record(into: Path, root: Path, notes: list[str]) -> dict[str, dict]:
    """The entries of the folder's sort record whose targets stay inside it (others are noted and ignored);
    refused when the record is unreadable or of another collection's sort."""
    record = into / SORT_MANIFEST
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
        collection, entries = data["collection"], dict(data["entries"])
    except (FileNotFoundError, NotADirectoryError):  # no record yet (a folder under a file: writing says so)
        return {}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SortError(f"{record}: unreadable ({error}); move it aside to sort afresh") from None
    if collection != str(root):
        raise SortError(f"{into}: holds the sort of another collection ({printable(str(collection))}); "
                        f"sort {root} into a folder of its own")
    checked = {}
    for target, entry in entries.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("source"), str) and entry.get("mode") in MODES):
            raise SortError(f"{record}: unreadable (entry {printable(target)!r} is not a link or a copy); "
                            "move it aside to sort afresh")
        try:
            inside(into, target)
        except UnsafePathError as error:
            notes.append(f"{error}: an entry of {record}, ignored")
            continue
        checked[target] = entry
    return checked


def _make(path: str, source: str, mode: str, folders: set[str]) -> dict:
    """A link to, or a copy of (through a temporary file and a rename, over an old one), `source` at `path`, and
    its record; `folders` are those made already (each is made once)."""
    parent = os.path.dirname(path)
    if parent not in folders:
        os.makedirs(parent, exist_ok=True)
        folders.add(parent)
    if mode == "link":
        os.symlink(source, path)
        return {"source": source, "mode": mode}
    copy_atomically(Path(source), Path(path))
    stat = os.stat(path)
    return {"source": source, "mode": mode, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _reading(error: OSError, source: str) -> bool:
    """Whether `error` came from reading the photo (a copy's source), not from writing into the folder."""
    return error.filename2 is None and error.filename is not None and os.fsdecode(error.filename) == source


def _ours(path: str, record: dict) -> bool:
    """Whether the file at `path` is still the link or the untouched copy this sort made."""
    if record["mode"] == "link":
        return os.path.islink(path) and os.readlink(path) == record["source"]
    try:
        stat = os.lstat(path)
    except OSError:
        return False
    return not os.path.islink(path) and stat.st_size == record.get("size") \
        and stat.st_mtime_ns == record.get("mtime_ns")


def _current(path: str, source: str, mode: str) -> bool:
    """Whether a copy is as new as its photo (a link always is)."""
    if mode == "link":
        return True
    try:
        return os.stat(source).st_mtime_ns == os.stat(path).st_mtime_ns
    except OSError:
        return False
