"""What a collection index holds: its format version, its manifest, the labelling model's record, its tables.

An index is a folder: `index.json` (the manifest: format, collection, pipeline), the LanceDB tables
`photos` (one row per photo: its file, its number of faces, the error that kept it from being read) and
`faces` (one row per face found: its box, vector and name; a photo without a face has none), `models/` (a
copy of each model that labelled it), `models.json` (the copies whosthat wrote there, with the SHA-256 of their
bytes: only those are ever deleted) and `.lock`; once used, `people` (candidate new people) and `labels` (the
user's corrections of the names, keyed by photo content and face: they outlive re-indexing). While an index
is being made, `.whosthat-index-creating` is its first file and is removed once `index.json` is written:
a folder is only ever taken for a new index when it is empty or holds that marker and whosthat's files.
The model that labelled the faces is recorded in the faces table's own schema metadata, so that a relabelling
commits the new labels and the record of who gave them in one step. A photo's `path` is its name in
the collection (see `scan.index_name`: names that are not UTF-8 are escaped so that they round-trip).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Optional

import pyarrow as pa

from whosthat.core.errors import WhosthatError

FORMAT = "whosthat-index"
FORMAT_VERSION = 2
MANIFEST = "index.json"
#: The model copies this index wrote under models/: {name inside the index: SHA-256 of the bytes written}.
MODELS_RECORD = "models.json"
#: Written first when an index is made, removed once its manifest is: a folder whosthat began.
CREATING = ".whosthat-index-creating"
PHOTOS = "photos"
FACES = "faces"
PEOPLE = "people"
LABELS = "labels"
#: Schema metadata key of the faces table that holds the `Labeller` record (JSON).
LABELLER_KEY = b"whosthat.labeller"
#: Default index folder inside a collection (hidden: the scan skips hidden folders).
DEFAULT_FOLDER = ".whosthat-index"


def model_file_name(fingerprint: str) -> str:
    """Where an index keeps its copy of a model (inside the index folder)."""
    return f"models/{fingerprint[:16]}.wt"


class IndexFileError(WhosthatError):
    """A folder that is not a collection index, or one this whosthat cannot use (newer, of another pipeline,
    damaged)."""


class IndexWriteError(WhosthatError):
    """The index could not be written (disk full, permissions); it keeps its last complete state."""


@dataclass(frozen=True)
class Manifest:
    """index.json: what the index is of, and the detector + embedder its faces and vectors come from."""

    collection: str
    pipeline: str
    dim: int
    created: str
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Labeller:
    """The model that named the faces: its fingerprint, its copy under models/, where it came from, its classes."""

    fingerprint: str
    model_file: str
    source: str
    classes: tuple[str, ...]
    threshold: float
    labelled: str

    def to_metadata(self) -> dict[bytes, bytes]:
        return {LABELLER_KEY: json.dumps({**asdict(self), "classes": list(self.classes)}).encode()}

    @classmethod
    def from_metadata(cls, metadata: Optional[dict[bytes, bytes]]) -> Labeller:
        try:
            record = json.loads((metadata or {})[LABELLER_KEY])
            return cls(**{**record, "classes": tuple(record["classes"])})
        except (KeyError, TypeError, ValueError) as error:
            raise IndexFileError(f"the faces table has no readable record of its model ({error})") from None


def photo_schema() -> pa.Schema:
    """The photos table: the photo (relative path, content hash, size, mtime), its number of faces, why it could not
    be read (null when it could)."""
    return pa.schema([
        pa.field("path", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("faces", pa.int32(), nullable=False),
        pa.field("error", pa.string()),
    ])


def face_schema(dim: int, labeller: Labeller) -> pa.Schema:
    """The faces table: the photo (relative path, content hash), which face (0: the largest), its box, landmarks,
    vector and name; the model that named them in the schema's metadata."""
    return pa.schema([
        pa.field("path", pa.string(), nullable=False),
        pa.field("content_hash", pa.string(), nullable=False),
        pa.field("face", pa.int32(), nullable=False),
        pa.field("box", pa.list_(pa.float32(), 4)),
        pa.field("landmarks", pa.list_(pa.float32(), 10)),
        pa.field("detection_score", pa.float32()),
        pa.field("vector", pa.list_(pa.float32(), dim)),
        pa.field("label", pa.string()),
        pa.field("confidence", pa.float32()),
        pa.field("probabilities", pa.list_(pa.float32())),
    ], metadata=labeller.to_metadata())


def recognised_schema(dim: int) -> pa.Schema:
    """What an engine gives: a row per photo, `source` (the file as the engine read it, as bytes: a file name need
    not be UTF-8), its content hash and
    error, and its faces (largest first) as lists of the faces table's columns (`rows.split` makes the two tables'
    rows of it)."""
    faces = [f for f in face_schema(dim, Labeller("", "", "", (), 0.0, "")) if f.name not in ("path", "content_hash",
                                                                                                 "face")]
    return pa.schema([pa.field("source", pa.binary(), nullable=False),
                      pa.field("content_hash", pa.string(), nullable=False), pa.field("error", pa.string()),
                      *(pa.field(f.name, pa.list_(f.type)) for f in faces)])


PEOPLE_SCHEMA = pa.schema([
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("face", pa.int32(), nullable=False),
    pa.field("person", pa.int32(), nullable=False),
])


LABELS_SCHEMA = pa.schema([
    pa.field("id", pa.int64(), nullable=False),
    pa.field("action", pa.int64(), nullable=False),
    pa.field("content_hash", pa.string(), nullable=False),
    pa.field("face", pa.int32(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("time", pa.string(), nullable=False),
])
"""The labels table: a user's corrections of the names, a row each (`whosthat.collection.corrections`)."""
