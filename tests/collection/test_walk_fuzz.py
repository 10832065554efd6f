"""The collection walk on random trees: folders, files with odd names (not UTF-8, a newline, a backslash, hidden),
and symbolic links to ancestors, siblings, files, a folder outside and nowhere. The walk ends, never raises,
returns each photo file once under a name that round-trips, and nothing outside the root but through a link."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from whosthat.collection.scan import photo_path, scan_collection
from whosthat.vision.images import is_image_path

NAMES = st.sampled_from([b"a", b"b", b"caf\xe9", b"\xff\xfe", b"new\nline", b"back\\slash", b"x\\x41", b".hidden",
                         b"sp ace", b"\xc3\xa9t\xc3\xa9", b"%e9", b"\\\\"])
SUFFIXES = st.sampled_from([b".jpg", b".PNG", b".webp", b".txt", b""])
#: (kind, folder index, name, suffix or link target): the folders made so far are numbered in order.
STEPS = st.lists(st.tuples(st.sampled_from(["folder", "file", "link"]), st.integers(0, 20), NAMES, SUFFIXES,
                           st.sampled_from(["parent", "root", "self", "sibling", "file", "outside", "missing",
                                            "absolute-root"])), max_size=25)


def build(root: bytes, outside: bytes, steps: list) -> None:
    """A tree under `root` made of `steps` (names that exist already are skipped)."""
    folders = [root]
    files: list[bytes] = []
    for kind, where, name, suffix, target in steps:
        folder = folders[where % len(folders)]
        path = os.path.join(folder, name + (suffix if kind != "folder" else b""))
        if os.path.lexists(path):
            continue
        if kind == "folder":
            os.mkdir(path)
            folders.append(path)
        elif kind == "file":
            with open(path, "wb") as stream:
                stream.write(name)
            files.append(path)
        else:
            link = {"parent": b"..", "root": os.path.relpath(root, folder), "self": b".",
                    "sibling": os.path.relpath(folders[(where + 1) % len(folders)], folder),
                    "file": os.path.relpath(files[0], folder) if files else b"nowhere.jpg",
                    "outside": outside, "missing": b"missing/nowhere", "absolute-root": root}[target]
            os.symlink(link, path)


def reachable(root: Path) -> set[tuple[int, int]]:
    """The photo files the walk must find (by device and inode): every image-named regular file reached from
    `root` through names that are not hidden, following links, each folder entered once."""
    found: set[tuple[int, int]] = set()
    seen: set[tuple[int, int]] = set()
    todo = [str(root)]
    while todo:
        folder = todo.pop()
        status = os.stat(folder)
        if (status.st_dev, status.st_ino) in seen:
            continue
        seen.add((status.st_dev, status.st_ino))
        for name in os.listdir(folder):
            path = os.path.join(folder, name)
            if name.startswith("."):
                continue
            try:
                status = os.stat(path)
            except OSError:
                continue
            if stat.S_ISDIR(status.st_mode):
                todo.append(path)
            elif stat.S_ISREG(status.st_mode) and is_image_path(Path(path)):
                found.add((status.st_dev, status.st_ino))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STEPS)
def test_the_walk_ends_and_returns_each_photo_once_under_a_name_that_round_trips(steps: list) -> None:
    with tempfile.TemporaryDirectory() as top:
        root, outside = Path(top) / "photos", Path(top) / "outside"
        root.mkdir()
        outside.mkdir()
        (outside / "far.jpg").write_bytes(b"far")
        build(os.fsencode(root), os.fsencode(outside), steps)

        scanned = scan_collection(root)

        photos = scanned.photos
        assert not scanned.unreadable
        identities = [(os.stat(p.path).st_dev, os.stat(p.path).st_ino) for p in photos]
        assert len(set(identities)) == len(identities), "each photo file once"
        assert set(identities) == reachable(root), "every photo file reachable from the root"
        assert [p.name for p in photos] == sorted({p.name for p in photos}), "names sorted and distinct"
        for photo in photos:
            photo.name.encode("utf-8")  # storable as text (Arrow, JSON): no surrogates left
            assert not any(part.startswith(".") or part in ("", "..") for part in photo.name.split("/"))
            assert photo.path == photo_path(root.resolve(), photo.name), "under the root, through links only"
            assert os.path.samefile(photo_path(root, photo.name), photo.path), "the stored name finds the file"
