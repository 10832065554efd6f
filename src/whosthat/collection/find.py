"""Questions to an index: photos where members are named, the least sure names, faces like a given one."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.collection.corrections import apply, named_faces, read, resolve, undecided
from whosthat.collection.defaults import DEFAULT_UNSURE_BELOW
from whosthat.collection.scan import photo_path
from whosthat.collection.store import IndexStore, sql_text
from whosthat.core.errors import WhosthatError
from whosthat.core.paths import printable
from whosthat.recognition.prediction import UNKNOWN_LABEL

FACE_COLUMNS = ["path", "content_hash", "face", "box", "label", "confidence"]


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
    corrected counts under the name they gave it, with confidence 1."""
    resolved = resolve(read(store))
    _check_names(store, names, resolved.names_given())
    rows = named_faces(store, FACE_COLUMNS, names, resolved).to_pylist()
    by_photo: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        best = by_photo[row["path"]].get(row["label"])
        if best is None or row["confidence"] > best["confidence"]:
            by_photo[row["path"]][row["label"]] = row
    hits = []
    for path, faces in by_photo.items():
        if all(n in faces for n in names):
            chosen = [faces[n] for n in dict.fromkeys(names)]
            hits.append(_hit(store, path, min(f["confidence"] for f in chosen), chosen))
    return _ranked(hits, limit, descending=True)


def find_unsure(store: IndexStore, below: float = DEFAULT_UNSURE_BELOW, names: Sequence[str] = (),
                limit: Optional[int] = None) -> list[Hit]:
    """Photos with a face named with a probability under `below` (of `names` only, when given), least sure first:
    the names worth a look (a face the user corrected is not)."""
    resolved = resolve(read(store))
    _check_names(store, names, resolved.names_given())
    where = f"label != {sql_text(UNKNOWN_LABEL)} AND confidence < {sql_number(below)}"
    if names:
        where += f" AND label IN ({', '.join(sql_text(n) for n in names)})"
    by_photo: dict[str, list[dict]] = defaultdict(list)
    for row in undecided(store.scan(FACE_COLUMNS, where), resolved).to_pylist():
        by_photo[row["path"]].append(row)
    hits = [_hit(store, path, min(r["confidence"] for r in rows), sorted(rows, key=lambda r: r["confidence"]))
            for path, rows in by_photo.items()]
    return _ranked(hits, limit, descending=False)


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


def _ranked(hits: list[Hit], limit: Optional[int], descending: bool) -> list[Hit]:
    hits.sort(key=lambda h: (-h.score if descending else h.score, h.name))
    return hits[:limit] if limit else hits


def _check_names(store: IndexStore, names: Sequence[str], given: set[str]) -> None:
    """Each of `names` a member's, a name the user's corrections give, or unknown; else `FindError`."""
    known = [*store.labeller.classes, *sorted(given - set(store.labeller.classes))]
    for name in names:
        if name != UNKNOWN_LABEL and name not in known:
            raise FindError(f"no member named {name!r} in {store.directory} (members: "
                            f"{', '.join(printable(k) for k in known)}, and {UNKNOWN_LABEL})")
