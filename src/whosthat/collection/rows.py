"""Rows of the index as Arrow, built from NumPy: what an engine recognised (a row per photo, its faces as lists),
and the photos and faces tables' rows made of it with the scan's files.

Vectors and boxes go in and out as NumPy arrays (`fixed`, `matrix`), never as Python lists of floats. Every text
of a row is valid UTF-8 (Arrow stores nothing else): the photo's name is the scan's escaped one, and an error that
names a file whose name is not UTF-8 is kept as one printable line."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection.scan import PhotoFile
from whosthat.collection.schema import photo_schema, recognised_schema
from whosthat.core.paths import printable
from whosthat.recognition.prediction import Prediction


@dataclass(frozen=True)
class Recognised:
    """One photo as an engine recognised it: the file as read, its content hash ("" when its bytes could not be
    read: the indexer reads it again on the next run), its faces named (largest first) or the error."""

    source: str
    key: str
    named: Sequence[Prediction]
    error: Optional[str] = None


def fixed(values: np.ndarray, width: int) -> pa.FixedSizeListArray:
    """Rows of `width` float32 values (a NumPy array of any shape with that many values a row) as an Arrow array."""
    return pa.FixedSizeListArray.from_arrays(pa.array(np.asarray(values, np.float32).reshape(-1)), width)


def matrix(column: pa.ChunkedArray | pa.Array, width: int) -> np.ndarray:
    """A column of fixed-size float lists (no nulls) as an (n, width) NumPy array (`flatten`, not `values`: a slice
    of a column shares the values of the whole)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, width)


def sources(recognised: pa.Table) -> list[str]:
    """The files of an engine's rows, as the engine read them."""
    return [os.fsdecode(source) for source in recognised["source"].to_pylist()]


def recognised_table(photos: Sequence[Recognised], dim: int) -> pa.Table:
    """The photos an engine recognised, a row each, with their faces as lists (`schema.recognised_schema`)."""
    schema = recognised_schema(dim)
    faces = [n for photo in photos for n in photo.named]
    offsets = pa.array(np.concatenate([[0], np.cumsum([len(p.named) for p in photos])]).astype(np.int32))
    classes = len(faces[0].probabilities) if faces else 0
    landmarks = [n.landmarks for n in faces]
    marks = np.array([np.zeros(10) if m is None else np.asarray(m).reshape(10) for m in landmarks], np.float32)
    per_face = {
        "box": fixed(np.array([n.box for n in faces], np.float32), 4),
        "landmarks": pa.FixedSizeListArray.from_arrays(pa.array(marks.reshape(-1)), 10,
                                                       mask=pa.array([m is None for m in landmarks], pa.bool_())),
        "detection_score": pa.array(np.array([n.detection_score for n in faces], np.float32)),
        "vector": fixed(np.array([n.embedding for n in faces], np.float32), dim),
        "label": pa.array([n.label for n in faces], pa.string()),
        "confidence": pa.array(np.array([n.confidence for n in faces], np.float32)),
        "probabilities": fixed(np.array([list(n.probabilities.values()) for n in faces], np.float32), classes).cast(
            pa.list_(pa.float32())) if classes else pa.array([], pa.list_(pa.float32())),
    }
    columns = {"source": pa.array([os.fsencode(p.source) for p in photos], pa.binary()),
               "content_hash": pa.array([p.key for p in photos], pa.string()),
               "error": pa.array([None if p.error is None else printable(p.error) for p in photos], pa.string()),
               **{name: pa.ListArray.from_arrays(offsets, values) for name, values in per_face.items()}}
    return pa.table(columns).cast(schema)


def split(recognised: pa.Table, files: Mapping[str, PhotoFile], faces_schema: pa.Schema) -> tuple[pa.Table, pa.Table]:
    """An engine's rows as the photos table's rows (`source` becomes the photo's name, size and mtime come from the
    scan) and the faces table's (a row per face, numbered in its photo, largest first)."""
    photos = [files[source] for source in sources(recognised)]
    paths = pa.array([p.name for p in photos], pa.string())
    counts = pc.list_value_length(recognised["box"]).combine_chunks().fill_null(0)
    photo_rows = pa.table({
        "path": paths, "content_hash": recognised["content_hash"],
        "size": pa.array([p.size for p in photos], pa.int64()),
        "mtime_ns": pa.array([p.mtime_ns for p in photos], pa.int64()),
        "faces": counts.cast(pa.int32()), "error": recognised["error"]}, schema=photo_schema())
    counts_np = counts.to_numpy(zero_copy_only=False).astype(np.int64)
    parent = np.repeat(np.arange(len(counts_np)), counts_np)
    first = np.concatenate([[0], np.cumsum(counts_np)])[:-1]
    face_rows = {"path": paths.take(parent), "content_hash": recognised["content_hash"].take(parent),
                 "face": pa.array((np.arange(len(parent)) - first[parent]).astype(np.int32))}
    for field in faces_schema:
        if field.name not in face_rows:
            face_rows[field.name] = pc.list_flatten(recognised[field.name])
    return photo_rows, pa.table(face_rows).cast(faces_schema)
