"""A user's corrections of an index's names, kept as data in its `labels` table, and the names they give.

A correction says of one face (a photo's content hash and the face's number in it) `confirm` NAME ("this face is
NAME"), `not` NAME ("this face is not NAME") or `stranger` ("nobody of the group: don't ask again"). Rows are
only ever added, each with an increasing `id`, and with the `action` it belongs to (moving a face to another name
is two rows, one action), so that `undo` removes the last action whole. Nothing is ever changed in a photo, and the
faces table keeps the model's names: the corrections are what a later refit learns from.

Rows are keyed by content and face number, not by path, so they outlive re-indexing, moves and renames of a photo
(same bytes) and relabelling with another model of the same pipeline. Every write holds the index's `IndexLock`:
a correction made while `index` runs waits for it (`wait` seconds) or is refused with one line.

The name a face has, when corrections name it (`resolve`, then `apply`): the latest `confirm` or `stranger` of
the face wins (a stranger is `unknown`); a later `not NAME` of the name it then has makes it `unknown`, as does a
`not` of the model's own name when nothing confirmed another.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Optional

import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection.lock import IndexLock
from whosthat.collection.schema import LABELS, LABELS_SCHEMA
from whosthat.collection.store import DELETE_CHUNK, IndexStore, now, sql_text
from whosthat.core.errors import WhosthatError
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.core.paths import printable
from whosthat.training.folder import class_name

CONFIRM = "confirm"
NOT = "not"
STRANGER = "stranger"
#: The longest name a correction may give (in characters).
MAX_NAME = 100
#: A photo's content hash (SHA-256, hex), as a photo may be named instead of by its path.
HASH = re.compile(r"[0-9a-f]{64}")


class CorrectionError(WhosthatError):
    """A correction the index cannot take: a name that cannot be a person's, a photo or face it does not hold,
    nothing left to undo."""


@dataclass(frozen=True)
class Correction:
    """One row of the labels table: which face (photo content hash, face number), what was said of it (kind,
    name: empty for a stranger), when (UTC, ISO 8601), its `id` and the `action` it was part of."""

    id: int
    action: int
    content_hash: str
    face: int
    kind: str
    name: str
    time: str

    def said(self) -> str:
        """What the correction says, in words: `confirm NAME`, `not NAME` or `stranger`."""
        return self.kind if self.kind == STRANGER else f"{self.kind} {self.name}"

    def to_dict(self) -> dict:
        return {"id": self.id, "action": self.action, "content_hash": self.content_hash, "face": self.face,
                "kind": self.kind, "name": self.name, "time": self.time}


@dataclass(frozen=True)
class Resolved:
    """What the corrections make of the names: `keys` (faces as `content_hash:face`) and the `names` they have
    now, whatever the model said; `denied` (`content_hash:face` + newline + name): faces nothing confirmed whose
    model's name, when it is that one, becomes unknown; `photos`: the content hashes of the photos of them all."""

    keys: pa.Array
    names: pa.Array
    denied: pa.Array
    photos: pa.Array

    def __bool__(self) -> bool:
        return bool(len(self.photos))

    def names_given(self) -> set[str]:
        """The names corrections give (new people among them)."""
        return set(self.names.to_pylist()) - {UNKNOWN_LABEL}


def check_name(name: str) -> str:
    """A person's name as a correction may give it (Unicode NFC, as training folders are read), or
    `CorrectionError`: empty, over MAX_NAME characters, a slash, a backslash or a control character (it would
    not make a training folder), `unknown` (use `stranger` or `not`) or starting with a dot (hidden)."""
    if not isinstance(name, str):
        raise CorrectionError(f"{name!r}: a name must be text")
    name = class_name(name)
    if not name:
        raise CorrectionError("a name must not be empty")
    if len(name) > MAX_NAME:
        raise CorrectionError(f"{printable(name[:20])}...: a name must be at most {MAX_NAME} characters")
    if "/" in name or "\\" in name or not name.isprintable():
        raise CorrectionError(f"{printable(name)}: a name must not hold a slash, a backslash or a control character")
    if name.lower() == UNKNOWN_LABEL:
        raise CorrectionError(f"{name}: not a person's name (say the face is a stranger, or not someone)")
    if name.startswith("."):
        raise CorrectionError(f"{printable(name)}: a name must not start with a dot")
    return name


def face_key(store: IndexStore, photo: str, face: int) -> str:
    """The content hash of `photo` (its path in the collection, or its content hash) once checked that the index
    holds its face number `face`; else `CorrectionError`."""
    if isinstance(face, bool) or not isinstance(face, int):
        raise CorrectionError(f"face {face!r}: not a face number")
    photo = str(photo)
    found = store.photos(["content_hash", "faces"], f"path = {sql_text(photo)}")
    if not found.num_rows and HASH.fullmatch(photo):
        found = store.photos(["content_hash", "faces"], f"content_hash = {sql_text(photo)}")
    if not found.num_rows:
        raise CorrectionError(f"{printable(photo)}: no such photo in the index {store.directory} (give its path "
                              "in the collection, or its content hash)")
    faces = found["faces"][0].as_py()
    if not 0 <= face < faces:
        raise CorrectionError(f"{printable(photo)}: no face {face} in the index (it holds "
                              f"{faces} face{'' if faces == 1 else 's'}, numbered from 0, the largest)")
    return str(found["content_hash"][0].as_py())


def read(store: IndexStore) -> pa.Table:
    """The labels table, in the order the corrections were made (empty when none was)."""
    if LABELS not in store.tables():
        return LABELS_SCHEMA.empty_table()
    table = store.other_table(LABELS).to_arrow()
    return table.sort_by("id").cast(LABELS_SCHEMA)


def corrections(store: IndexStore) -> list[Correction]:
    """Every correction of the index, oldest first."""
    return [Correction(**row) for row in read(store).to_pylist()]


def record(store: IndexStore, said: Sequence[tuple[str, int, str, str]], wait: float = 0.0) -> list[Correction]:
    """Add one action: each (content hash, face, kind, name) as a row, in one commit under the index's lock (held
    by another run: wait up to `wait` seconds, then `IndexBusyError`)."""
    with IndexLock(store.directory, wait=wait):
        return _append(store, said)


def move(store: IndexStore, content_hash: str, face: int, name: str, wait: float = 0.0) -> list[Correction]:
    """Say that a face is `name` and not the name it has now (read under the lock, as `record` writes), as one
    action; a face that was unknown or `name` already is only confirmed."""
    with IndexLock(store.directory, wait=wait):
        has = current_name(store, content_hash, face)
        said = [(content_hash, face, NOT, has)] if has not in (UNKNOWN_LABEL, name) else []
        return _append(store, [*said, (content_hash, face, CONFIRM, name)])


def _append(store: IndexStore, said: Sequence[tuple[str, int, str, str]]) -> list[Correction]:
    """The rows of one action appended (hold the lock)."""
    table = read(store)
    first = (pc.max(table["id"]).as_py() or 0) + 1
    action = (pc.max(table["action"]).as_py() or 0) + 1
    time = now()
    rows = [Correction(first + n, action, h, f, kind, name, time) for n, (h, f, kind, name) in enumerate(said)]
    store.write_other_table(LABELS, pa.Table.from_pylist([r.to_dict() for r in rows], LABELS_SCHEMA), LABELS_SCHEMA)
    return rows


def undo(store: IndexStore, wait: float = 0.0) -> list[Correction]:
    """Remove the last action (under the lock, in one commit) and return its rows; `CorrectionError` when there
    is none left."""
    with IndexLock(store.directory, wait=wait):
        table = read(store)
        if not table.num_rows:
            raise CorrectionError(f"{store.directory}: no correction to undo")
        last = pc.equal(table["action"], pc.max(table["action"]))
        store.write_other_table(LABELS, table.filter(pc.invert(last)), LABELS_SCHEMA, replace=True)
    return [Correction(**row) for row in table.filter(last).to_pylist()]


def resolve(table: pa.Table) -> Resolved:
    """The names the corrections of `table` (oldest first) give (see the module)."""
    named: dict[str, str] = {}
    denied: dict[str, set[str]] = {}
    for row in table.select(["content_hash", "face", "kind", "name"]).to_pylist():
        key = f"{row['content_hash']}:{row['face']}"
        if row["kind"] == NOT:
            if key not in named:
                denied.setdefault(key, set()).add(row["name"])
            elif named[key] == row["name"]:
                named[key] = UNKNOWN_LABEL
        else:
            named[key] = row["name"] if row["kind"] == CONFIRM else UNKNOWN_LABEL
            denied.pop(key, None)
    photos = sorted({key.rsplit(":", 1)[0] for key in [*named, *denied]})
    return Resolved(pa.array(list(named), pa.string()), pa.array(list(named.values()), pa.string()),
                    pa.array([f"{k}\n{n}" for k, names in denied.items() for n in names], pa.string()),
                    pa.array(photos, pa.string()))


def strangers(table: pa.Table) -> set[str]:
    """The faces (`content_hash:face`) of the corrections of `table` (oldest first) whose latest `confirm` or
    `stranger` says stranger: nobody of the group, not to be asked about again."""
    last: dict[str, str] = {}
    for row in table.select(["content_hash", "face", "kind"]).to_pylist():
        if row["kind"] != NOT:
            last[f"{row['content_hash']}:{row['face']}"] = row["kind"]
    return {key for key, kind in last.items() if kind == STRANGER}


def keys(faces: pa.Table) -> pa.Array:
    """`content_hash:face` of each face of a table with those columns."""
    return pc.binary_join_element_wise(faces["content_hash"], pc.cast(faces["face"], pa.string()), ":")


def apply(faces: pa.Table, resolved: Resolved) -> pa.Table:
    """`faces` (with content_hash, face and label columns) with the label the corrections give each face; a
    name a correction decided is sure: its `confidence`, where the table has one, is 1. Only the faces of the
    corrected photos are looked at closely."""
    touched, faces_of = _touched(faces, resolved)
    if faces_of is None:
        return faces
    label, decided = _corrected(faces_of, resolved)
    faces = _replaced(faces, "label", touched, label)
    if "confidence" in faces.schema.names:
        sure = pc.if_else(decided, pa.scalar(1.0, pa.float32()), faces_of["confidence"])
        faces = _replaced(faces, "confidence", touched, sure)
    return faces


def undecided(faces: pa.Table, resolved: Resolved) -> pa.Table:
    """The faces of `faces` (with content_hash, face and label columns) whose name no correction decided."""
    touched, faces_of = _touched(faces, resolved)
    if faces_of is None:
        return faces
    decided = pc.replace_with_mask(touched, touched, _array(_corrected(faces_of, resolved)[1]))
    return faces.filter(pc.invert(decided))


def _touched(faces: pa.Table, resolved: Resolved) -> tuple[pa.Array, Optional[pa.Table]]:
    """Which faces are of a corrected photo, and those faces (None when there are none)."""
    if not resolved or not faces.num_rows:
        return pa.array([], pa.bool_()), None
    touched = pc.is_in(faces["content_hash"], value_set=resolved.photos)
    touched = _array(touched)
    return touched, (faces.filter(touched) if pc.any(touched).as_py() else None)


def _corrected(faces: pa.Table, resolved: Resolved) -> tuple[pa.Array, pa.Array]:
    """The name the corrections give each face, and whether a correction decided it."""
    key = keys(faces)
    position = pc.index_in(key, value_set=resolved.keys)
    given = pc.is_valid(position)
    label = pc.if_else(given, resolved.names.take(position), faces["label"])
    denied = pc.is_in(pc.binary_join_element_wise(key, label, "\n"), value_set=resolved.denied)
    return pc.if_else(denied, pa.scalar(UNKNOWN_LABEL), label), pc.or_(given, denied)


def _replaced(faces: pa.Table, column: str, mask: pa.Array, values: pa.Array) -> pa.Table:
    """`faces` with `column` set to `values` where `mask` is true (in order)."""
    merged = pc.replace_with_mask(faces[column].combine_chunks(), mask, _array(values))
    return faces.set_column(faces.schema.get_field_index(column), column, merged)


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def named_faces(store: IndexStore, columns: Sequence[str], labels: Sequence[str], resolved: Resolved) -> pa.Table:
    """`columns` (content_hash, face and label among them) of the faces whose name, corrections applied, is one
    of `labels`; the filter lists the corrected photos, or reads every face when there are more than
    DELETE_CHUNK of them."""
    where: Optional[str] = f"label IN ({', '.join(sql_text(n) for n in dict.fromkeys(labels))})"
    if resolved:
        hashes = resolved.photos.to_pylist()
        where = f"({where}) OR content_hash IN ({', '.join(sql_text(h) for h in hashes)})" \
            if len(hashes) <= DELETE_CHUNK else None
    faces = apply(store.scan(columns, where), resolved)
    return faces.filter(pc.is_in(faces["label"], value_set=pa.array(list(labels), pa.string())))


def current_name(store: IndexStore, content_hash: str, face: int) -> str:
    """The name a face has now: the model's, or the one its corrections give."""
    faces = store.scan(["content_hash", "face", "label"],
                       f"content_hash = {sql_text(content_hash)} AND face = {int(face)}")
    return str(apply(faces.slice(0, 1), resolve(read(store)))["label"][0].as_py())


def photo_paths(store: IndexStore, hashes: Collection[str]) -> dict[str, str]:
    """A path in the collection of each photo of these content hashes that the index holds now (the first, for
    copies of one photo)."""
    if not hashes:
        return {}
    where = f"content_hash IN ({', '.join(sql_text(h) for h in sorted(hashes))})" \
        if len(hashes) <= DELETE_CHUNK else None
    found = store.photos(["content_hash", "path"], where).sort_by("path")
    paths: dict[str, str] = {}
    for content, path in zip(found["content_hash"].to_pylist(), found["path"].to_pylist()):
        paths.setdefault(content, path)
    return {h: p for h, p in paths.items() if h in hashes}
