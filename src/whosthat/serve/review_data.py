"""What the review page reads from an index and writes to it, without HTTP: the members' faces no correction
decided (those whose answer would teach the model most first), the groups of unknown faces, a photo with all its
faces, face crops, corrections of several faces as one action, and the history of actions.

Every function opens nothing itself: it is given an `Index` opened for the request, and runs in a worker thread.
Faces are named by their photo's content hash and their number, as the corrections keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow.compute as pc

from whosthat.collection import corrections
from whosthat.collection.api import Index
from whosthat.collection.corrections import CONFIRM, NOT, STRANGER, Correction, CorrectionError
from whosthat.collection.scan import photo_path
from whosthat.collection.store import sql_text
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.core.paths import UnsafePathError
from whosthat.report.images import boxed_thumbnail, open_photo
from whosthat.serve.schemas import (
    Action,
    CorrectionOut,
    CorrectionRequest,
    NewFaceRequest,
    PeopleGroup,
    ReviewFace,
    ReviewPhoto,
)
from whosthat.serve.thumbnails import MARGIN, SIZE, jpeg
from whosthat.vision.align import crop_box

COLUMNS = ["path", "content_hash", "face", "box", "label", "confidence"]
#: Longer side of a photo shown whole, in pixels.
PHOTO_SIZE = 800


class NotInIndexError(CorrectionError):
    """A photo or face the index does not hold (answered 404)."""


def crop_url(content_hash: str, face: int) -> str:
    return f"/v1/index/review/faces/{content_hash}/{face}/crop"


def _face(row: dict, corrected: bool = False) -> ReviewFace:
    return ReviewFace(photo=row["content_hash"], path=row["path"], face=row["face"],
                      box=[round(float(v), 1) for v in row["box"]], label=row["label"],
                      confidence=round(float(row["confidence"]), 4), corrected=corrected,
                      crop=crop_url(row["content_hash"], row["face"]), reason=None)


def queue(index: Index, name: Optional[str], offset: int, limit: int) -> tuple[list[ReviewFace], int]:
    """A page of the faces named as a member (`name`, or any) that no correction decided, the one whose answer
    would teach the model most first (`Index.review_queue`), and how many there are in all."""
    items = [item for item in index.review_queue(None)
             if item.name != UNKNOWN_LABEL and (name is None or item.name == name)]
    return [ReviewFace(photo=i.content_hash, path=i.path, face=i.face, box=[round(v, 1) for v in i.box],
                       label=i.name, confidence=round(i.confidence, 4), corrected=False,
                       crop=crop_url(i.content_hash, i.face), reason=i.reason)
            for i in items[offset:offset + limit]], len(items)


def people(index: Index, wait: float) -> list[PeopleGroup]:
    """The groups of unknown faces (`Index.people`, largest first), without the faces a correction decided since."""
    report = index.people(wait=wait)
    decided = set(corrections.resolve(corrections.read(index.store)).keys.to_pylist())
    groups = []
    for person in report.people:
        faces = [ReviewFace(photo=f.content_hash, path=f.name, face=f.face, box=[round(v, 1) for v in f.box],
                            label=UNKNOWN_LABEL, confidence=0.0, corrected=False, crop=crop_url(f.content_hash, f.face),
                            reason=None)
                 for f in person.faces if f"{f.content_hash}:{f.face}" not in decided]
        if faces:
            groups.append(PeopleGroup(person=person.label, faces=faces))
    return sorted(groups, key=lambda g: -len(g.faces))


def _path_of(index: Index, content_hash: str) -> str:
    """A path in the collection of the photo with this content hash, or `NotInIndexError`."""
    path = index.photo_paths({content_hash}).get(content_hash)
    if path is None:
        raise NotInIndexError("no photo of the index has that content hash")
    return path


def _open(index: Index, path: str) -> np.ndarray:
    try:
        image = open_photo(photo_path(index.collection, path))
    except UnsafePathError:
        image = None
    if image is None:
        raise NotInIndexError(f"{path}: the photo is no longer on disk, or cannot be read")
    return image


def photo(index: Index, content_hash: str) -> ReviewPhoto:
    """The photo with every face the index holds of it, each under the name it has now."""
    path = _path_of(index, content_hash)
    resolved = corrections.resolve(corrections.read(index.store))
    faces = index.store.scan(COLUMNS, f"path = {sql_text(path)}").sort_by("face")
    named = corrections.apply(faces, resolved)
    decided = pc.invert(pc.is_in(corrections.keys(faces), value_set=corrections.keys(
        corrections.undecided(faces, resolved)))).to_pylist() if faces.num_rows else []
    height, width = _open(index, path).shape[:2]
    return ReviewPhoto(photo=content_hash, path=path, width=width, height=height,
                       image=f"/v1/index/review/photos/{content_hash}/image",
                       faces=[_face(row, bool(d)) for row, d in zip(named.to_pylist(), decided)])


def add_face(index: Index, content_hash: str, request: NewFaceRequest, wait: float) -> ReviewFace:
    """Add the face in the drawn box to the photo and confirm it as the name given (`Index.add_face`): the new
    face, boxed and named."""
    _path_of(index, content_hash)
    added = index.add_face(content_hash, request.box, request.name, wait=wait)
    return ReviewFace(photo=added.content_hash, path=added.path, face=added.face,
                      box=[round(v, 1) for v in added.box], label=added.correction.name, confidence=1.0,
                      corrected=True, crop=crop_url(added.content_hash, added.face), reason=None)


def photo_jpeg(index: Index, content_hash: str) -> bytes:
    """The photo, at most PHOTO_SIZE px, as a JPEG."""
    return jpeg(np.asarray(boxed_thumbnail(_open(index, _path_of(index, content_hash)), (), PHOTO_SIZE)))


def crop_jpeg(index: Index, content_hash: str, face: int) -> bytes:
    """The face with some of its surroundings, SIZE px square, as a JPEG (as the members' thumbnails are cut)."""
    path = _path_of(index, content_hash)
    rows = index.store.scan(["box"], f"path = {sql_text(path)} AND face = {int(face)}")
    if not rows.num_rows:
        raise NotInIndexError(f"{path}: no face {face} in the index")
    box = np.asarray(rows["box"][0].as_py(), np.float32)
    return jpeg(crop_box(_open(index, path), box, SIZE, MARGIN))


def correct(index: Index, request: CorrectionRequest, wait: float) -> list[Correction]:
    """Record what `request` says of its faces as one action (one undo); `CorrectionError` for a bad name,
    `NotInIndexError` for a photo or face the index does not hold. A move says "not" the name each face had
    when read, then confirms the new one (the confirmation alone decides the name)."""
    name = "" if request.kind == STRANGER else corrections.check_name(request.name or "")
    faces = list(dict.fromkeys((ref.photo, ref.face) for ref in request.faces))
    keys = []
    for photo_ref, face in faces:
        try:
            keys.append((corrections.face_key(index.store, photo_ref, face), face))
        except CorrectionError as error:
            raise NotInIndexError(str(error)) from None
    said: list[tuple[str, int, str, str]] = []
    for key, face in keys:
        if request.kind == "move":
            has = corrections.current_name(index.store, key, face)
            said += [(key, face, NOT, has)] if has not in (UNKNOWN_LABEL, name) else []
            said.append((key, face, CONFIRM, name))
        else:
            said.append((key, face, request.kind, name))
    return corrections.record(index.store, said, wait)


def actions(index: Index, rows: Sequence[Correction]) -> list[Action]:
    """`rows` (oldest first) as actions, newest first, each with the paths of its photos."""
    paths = index.photo_paths({r.content_hash for r in rows})
    found = []
    for number, grouped in groupby(rows, key=lambda r: r.action):
        made = list(grouped)
        words = list(dict.fromkeys(r.said() for r in made))
        count = len({(r.content_hash, r.face) for r in made})
        found.append(Action(action=number, time=made[0].time,
                            said=f"{', '.join(words)} ({count} face{'' if count == 1 else 's'})",
                            corrections=[CorrectionOut(id=r.id, action=r.action, photo=r.content_hash,
                                                       path=paths.get(r.content_hash), face=r.face, kind=r.kind,
                                                       name=r.name, time=r.time) for r in made]))
    return found[::-1]


def unused(directory: Path, stem: str) -> Path:
    """`directory/stem.wt`, or `stem-2.wt`, `stem-3.wt`... where that one exists."""
    path, n = directory / f"{stem}.wt", 1
    while path.exists():
        n += 1
        path = directory / f"{stem}-{n}.wt"
    return path

