"""Questions to an index: photos where members are named, the least sure names, faces like a given one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection.corrections import Resolved, apply, named_faces, read, resolve, undecided
from whosthat.collection.defaults import DEFAULT_UNSURE_BELOW
from whosthat.collection.scan import photo_path
from whosthat.collection.store import DELETE_CHUNK, IndexStore, sql_text
from whosthat.core.errors import WhosthatError
from whosthat.core.paths import printable
from whosthat.recognition.prediction import UNKNOWN_LABEL

FACE_COLUMNS = ["path", "content_hash", "face", "box", "label", "confidence"]
#: What photos are ranked on (the rest is read for the hits only).
RANKED = ["path", "face", "label", "confidence"]


class FindError(WhosthatError):
    """A question an index cannot answer: a member it does not know, a probability or a limit that is no number."""


@dataclass(frozen=True)
class FaceHit:
    """One face of a photo found: which face, its box, its name and that name's probability."""

    face: int
    box: tuple[float, float, float, float]
    label: str
    confidence: float

    def to_dict(self) -> dict:
        return {"face": self.face, "box": [round(v, 1) for v in self.box], "label": self.label,
                "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class Hit:
    """A photo found: its file, its path in the index, its content hash, the faces that made it a hit, and the
    score ranked by (the lowest probability of the names asked for; for `like`, the cosine similarity)."""

    path: Path
    name: str
    content_hash: str
    score: float
    faces: tuple[FaceHit, ...]

    def to_dict(self) -> dict:
        return {"path": str(self.path), "name": self.name, "content_hash": self.content_hash,
                "score": round(self.score, 4), "faces": [f.to_dict() for f in self.faces]}


def find_named(store: IndexStore, names: Sequence[str], limit: Optional[int] = None) -> list[Hit]:
    """Photos where every one of `names` is named ("unknown" too), most confident first; a face the user
    corrected counts under the name they gave it, with confidence 1. The photos are ranked on Arrow columns;
    only the hits returned become Python objects."""
    resolved = resolve(read(store))
    _check_names(store, names, resolved.names_given())
    wanted = list(dict.fromkeys(names))
    faces, starts = _by_photo(named_faces(store, [*RANKED, "content_hash"] if resolved else RANKED, names, resolved),
                              [("label", "ascending"), ("confidence", "descending")])
    # The most confident face of each name in each photo (the first one read, of equal confidences).
    best = np.zeros(faces.num_rows, bool)
    best[_starts(faces["label"])] = True
    best[starts] = True
    faces = faces.filter(pa.array(best))
    starts = _starts(faces["path"])
    sizes = np.diff(np.r_[starts, faces.num_rows])
    confidence = faces["confidence"].to_numpy(zero_copy_only=False)
    score = np.minimum.reduceat(confidence, starts) if len(starts) else np.zeros(0, np.float32)
    whole = np.flatnonzero(sizes == len(wanted))
    top = whole[np.lexsort((whole, -score[whole]))][:limit or None]
    chosen = [{r["label"]: r for r in faces.slice(starts[photo], sizes[photo]).to_pylist()} for photo in top]
    found = _faces_of(store, [rows[wanted[0]]["path"] for rows in chosen], names, resolved)
    return [_hit(store, rows[wanted[0]]["path"], float(score[photo]),
                 [found[rows[n]["path"], rows[n]["face"]] for n in wanted]) for photo, rows in zip(top, chosen)]


def _faces_of(store: IndexStore, paths: Sequence[str], names: Sequence[str], resolved: Resolved
              ) -> dict[tuple[str, int], dict]:
    """FACE_COLUMNS of the faces of these photos named one of `names` (as the corrections name them), by
    (path, face): read for just those photos when they are few."""
    where = f"path IN ({', '.join(sql_text(p) for p in paths)})" if len(paths) <= DELETE_CHUNK else None
    if not paths:
        return {}
    rows = named_faces(store, FACE_COLUMNS, names, resolved) if where is None else \
        apply(store.scan(FACE_COLUMNS, where), resolved)
    return {(r["path"], r["face"]): r for r in rows.to_pylist()}


def find_unsure(store: IndexStore, below: float = DEFAULT_UNSURE_BELOW, names: Sequence[str] = (),
                limit: Optional[int] = None) -> list[Hit]:
    """Photos with a face named with a probability under `below` (of `names` only, when given), least sure first:
    the names worth a look (a face the user corrected is not)."""
    resolved = resolve(read(store))
    _check_names(store, names, resolved.names_given())
    where = f"label != {sql_text(UNKNOWN_LABEL)} AND confidence < {sql_number(below)}"
    if names:
        where += f" AND label IN ({', '.join(sql_text(n) for n in names)})"
    faces, starts = _by_photo(undecided(store.scan(FACE_COLUMNS, where), resolved), [("confidence", "ascending")])
    sizes = np.diff(np.r_[starts, faces.num_rows])
    score = faces["confidence"].to_numpy(zero_copy_only=False)[starts]
    photos = np.arange(len(starts))
    hits = []
    for photo in photos[np.lexsort((photos, score))][:limit or None]:
        rows = faces.slice(starts[photo], sizes[photo]).to_pylist()
        hits.append(_hit(store, rows[0]["path"], float(score[photo]), rows))
    return hits


def _by_photo(faces: pa.Table, order: list[tuple[str, str]]) -> tuple[pa.Table, np.ndarray]:
    """`faces` sorted by path (the name a hit is ranked by after its score), then by `order`, then in the order
    read; and where each photo's faces start."""
    faces = faces.append_column("_read", pa.array(np.arange(faces.num_rows)))
    faces = faces.take(pc.sort_indices(faces, [("path", "ascending"), *order, ("_read", "ascending")]))
    return faces.drop_columns(["_read"]), _starts(faces["path"])


def _starts(values: pa.ChunkedArray) -> np.ndarray:
    """Where each run of equal values starts."""
    if not len(values):
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.r_[True, pc.not_equal(values[1:], values[:-1]).to_numpy(zero_copy_only=False)])


def find_like(store: IndexStore, vector: np.ndarray, limit: int = 20) -> list[Hit]:
    """The faces most like `vector` (cosine similarity), whoever they are, most alike first; a hit per face, named
    as the user's corrections say."""
    rows = apply(store.nearest(vector, limit, FACE_COLUMNS), resolve(read(store))).to_pylist()
    return [_hit(store, row["path"], 1.0 - float(row["_distance"]), [row]) for row in rows]


def sql_number(value: float) -> str:
    """A number for a LanceDB filter: finite (`nan` and `inf` would be read as column names), written in full."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise FindError(f"{value!r} is not a finite number")
    return repr(number)


def check_limit(limit: Optional[int]) -> None:
    """The most hits: a count, 0 or None for all; a negative one is refused (it would drop hits from the end)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise FindError(f"limit {limit!r}: not a count of hits (0 or None: all)")


def _hit(store: IndexStore, path: str, score: float, rows: Sequence[dict]) -> Hit:
    root = Path(store.manifest.collection)
    faces = tuple(FaceHit(int(r["face"]), _box(r["box"]), r["label"], float(r["confidence"])) for r in rows)
    return Hit(photo_path(root, path), path, rows[0]["content_hash"], float(score), faces)


def _box(values: Sequence[float]) -> tuple[float, float, float, float]:
    """A stored box (x1, y1, x2, y2) as plain floats."""
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


def _check_names(store: IndexStore, names: Sequence[str], given: set[str]) -> None:
    """Each of `names` a member's, a name the user's corrections give, or unknown; else `FindError`."""
    known = [*store.labeller.classes, *sorted(given - set(store.labeller.classes))]
    for name in names:
        if name != UNKNOWN_LABEL and name not in known:
            raise FindError(f"no member named {name!r} in {store.directory} (members: "
                            f"{', '.join(printable(k) for k in known)}, and {UNKNOWN_LABEL})")
