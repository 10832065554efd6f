"""Rows of the faces table: built from what an engine recognised in one photo, completed with the scan's file.

Every text of a row is valid UTF-8 (Arrow stores nothing else): the photo's name is the scan's escaped one, and an
error that names a file whose name is not UTF-8 is kept as one printable line."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
import pyarrow as pa

from whosthat.collection.recognition import NamedFace
from whosthat.collection.scan import PhotoFile
from whosthat.collection.schema import NO_FACE
from whosthat.core.paths import printable


def recognised_rows(source: str, key: str, named: Sequence[NamedFace], error: Optional[str]) -> list[dict]:
    """A row per face (largest first), or one row with `face = -1` for a photo with none or an error (its `key` is
    "" when the file's bytes could not be read: the indexer reads such a photo again on the next run)."""
    if error is not None or not named:
        return [{"source": source, "content_hash": key, "face": NO_FACE, "faces": 0, "box": None, "landmarks": None,
                 "detection_score": None, "vector": None, "label": None, "confidence": None, "probabilities": None,
                 "error": None if error is None else printable(error)}]
    return [{"source": source, "content_hash": key, "face": i, "faces": len(named),
             "box": n.face.box.tolist(),
             "landmarks": None if n.face.landmarks is None else n.face.landmarks.reshape(10).tolist(),
             "detection_score": n.face.score, "vector": np.asarray(n.vector, np.float32).tolist(),
             "label": n.label, "confidence": n.confidence, "probabilities": n.probabilities.tolist(), "error": None}
            for i, n in enumerate(named)]


def complete_rows(rows: Sequence[dict], files: Mapping[str, PhotoFile], schema: pa.Schema) -> pa.Table:
    """The engine's rows as faces-table rows: `source` becomes the photo's name, size and mtime from the scan."""
    out = []
    for row in rows:
        photo = files[row["source"]]
        out.append({**{k: v for k, v in row.items() if k != "source"}, "path": photo.name, "size": photo.size,
                    "mtime_ns": photo.mtime_ns})
    return pa.Table.from_pylist(out, schema=schema)
