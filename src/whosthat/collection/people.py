"""`group_people`: the faces nobody in the group was named on, grouped into candidate new people.

The faces are compared in the space the index's model names faces in (its within-class whitening of the vectors,
when it has one), where one person's faces are closest, and grouped by `whosthat.collection.grouping`: each face
linked to its nearest faces within a distance chosen from the model's own training faces (`choose_distance`),
then Chinese whispers, which keeps look-alike people apart where a chain of faces would join them.
Faces of one photo are never grouped together: one person is not twice in a photo.
It is incremental: faces grouped once keep their person, so a grown collection adds faces to the
existing groups, or starts new ones, rather than regrouping everything (`restart` does that). The
groups are kept in the index's `people` table, keyed by photo content and face, so they survive
moves and renames; faces a new model names (after `--relabel`) leave their group. Corrections count
(`whosthat.collection.corrections`): a face given a name leaves, and one said to be a stranger is not
grouped again (it is not to be asked about again).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection import corrections
from whosthat.collection.defaults import DEFAULT_MIN_FACES, LINK_RATE
from whosthat.collection.grouping import Faces, group
from whosthat.collection.rows import matrix
from whosthat.collection.scan import photo_path
from whosthat.collection.schema import PEOPLE, PEOPLE_SCHEMA
from whosthat.collection.store import IndexStore, sql_text
from whosthat.models.loading import load
from whosthat.models.model import Model
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.whitening import whiten
from whosthat.vision.vectors import normalise

#: Used when there are too few faces of known people to choose the distance from (`choose_distance`).
FALLBACK_DISTANCE = 0.35
#: Faces of known people compared at most when choosing the distance (a sample: bounds time and memory).
SAMPLE = 4000


@dataclass(frozen=True)
class PersonFace:
    """A face of a candidate person: the photo (path in the index, content hash), which face, its box, and the
    collection it is in; `path` is the photo's file (made when asked for: a report may hold every face)."""

    name: str
    face: int
    box: tuple[float, float, float, float]
    content_hash: str
    root: Path

    @property
    def path(self) -> Path:
        """The photo's file."""
        return photo_path(self.root, self.name)


@dataclass(frozen=True)
class Person:
    """A candidate new person: a number (`person_001`), and their faces, the most central first."""

    number: int
    faces: tuple[PersonFace, ...]

    @property
    def label(self) -> str:
        return f"person_{self.number:03d}"


@dataclass(frozen=True)
class PeopleReport:
    """The groups after a run (largest first), the faces looked at, grouped this run, and left waiting."""

    people: tuple[Person, ...]
    unknown_faces: int
    grouped_now: int
    waiting: int
    distance: float
    min_faces: int


@dataclass(frozen=True)
class Space:
    """Where faces are compared: the whitening that maps stored vectors into it (None: as they are), and faces of
    known people in it with their people, to choose the distance from."""

    whitening: Optional[np.ndarray]
    known: np.ndarray
    people: np.ndarray

    def map(self, vectors: np.ndarray) -> np.ndarray:
        """Stored (n, dim) vectors as unit vectors of this space."""
        return normalise(vectors) if self.whitening is None or not len(vectors) else whiten(vectors, self.whitening)


def model_space(store: IndexStore) -> Space:
    """The space of the index's model (its copy in the index) with its training faces; for a model of several
    models, the stored vectors as they are with the faces confidently named as members."""
    model = load(store.model_path())
    if isinstance(model, Model) and model.reference.X.shape[1] == store.manifest.dim:
        return space_of(model)
    rows = store.scan(["vector", "label"], f"label != {sql_text(UNKNOWN_LABEL)} AND confidence >= 0.9")
    return Space(None, normalise(matrix(rows["vector"], store.manifest.dim)), rows["label"].to_numpy())


def space_of(model: Model) -> Space:
    """The space a model names faces in, with its training faces."""
    return Space(model.recogniser.whitening_, normalise(model.reference.X), np.asarray(model.reference.y))


def choose_distance(space: Space) -> float:
    """The cosine distance within which LINK_RATE of the pairs of faces of two different known people fall: how
    close two faces must be to be linked, measured in this space; FALLBACK_DISTANCE with fewer than 20 faces."""
    if len(space.known) < 20 or len(set(space.people.tolist())) < 2:
        return FALLBACK_DISTANCE
    take = np.random.default_rng(0).choice(len(space.known), min(len(space.known), SAMPLE), replace=False)
    vectors, people = space.known[take], space.people[take]
    distances = 1.0 - vectors @ vectors.T
    return float(np.quantile(distances[people[:, None] != people[None, :]], LINK_RATE))


def group_people(store: IndexStore, distance: Optional[float] = None, min_faces: int = DEFAULT_MIN_FACES,
                 restart: bool = False) -> PeopleReport:
    """Group the index's unknown faces (see the module); hold an `IndexLock` while it runs."""
    space = model_space(store)
    distance = choose_distance(space) if distance is None else float(distance)
    said = corrections.read(store)
    faces = corrections.named_faces(store, ["path", "content_hash", "face", "box", "vector", "label"],
                                    [UNKNOWN_LABEL], corrections.resolve(said))
    hidden = corrections.strangers(said)
    if hidden:
        faces = faces.filter(pc.invert(pc.is_in(corrections.keys(faces), value_set=pa.array(list(hidden)))))
    keys = corrections.keys(faces)
    rows = np.sort(pa.table({"key": keys, "row": np.arange(len(keys))}).group_by("key", use_threads=False)
                   .aggregate([("row", "min")])["row_min"].to_numpy())
    faces = faces.take(rows)
    keys = keys.take(rows)
    vectors = space.map(matrix(faces["vector"], store.manifest.dim))
    before = np.full(len(keys), -1, np.int64) if restart else _stored_people(store, keys)
    photos = pc.dictionary_encode(faces["content_hash"].combine_chunks()).indices.to_numpy().astype(np.int64)
    person = group(Faces(vectors, photos, before), 1.0 - distance, min_faces)
    now = np.flatnonzero((before < 0) & (person >= 0))
    if restart or len(now):
        _save_people(store, faces.take(now), person[now], restart)
    people = _people(faces, person, vectors, Path(store.manifest.collection))
    return PeopleReport(people, len(keys), len(now), int((person < 0).sum()), distance, min_faces)


def _people(faces: pa.Table, person: np.ndarray, vectors: np.ndarray, root: Path) -> tuple[Person, ...]:
    """The groups with their faces, the most central first (only the grouped faces are read out of Arrow)."""
    grouped = np.flatnonzero(person >= 0)
    numbers, members = np.unique(person[grouped], return_inverse=True)
    centres = np.zeros((len(numbers), vectors.shape[1]), np.float64)
    np.add.at(centres, members, vectors[grouped])
    centres /= np.maximum(np.bincount(members, minlength=len(numbers)), 1)[:, None]
    likeness = np.einsum("ij,ij->i", vectors[grouped], centres[members])
    order = grouped[np.lexsort((-likeness, members))]
    rows = faces.select(["path", "face", "box", "content_hash"]).take(order).to_pylist()
    bounds = np.r_[0, np.cumsum(np.bincount(members, minlength=len(numbers)))]
    people = [Person(int(number), tuple(
        PersonFace(row["path"], int(row["face"]), tuple(row["box"]), row["content_hash"], root)
        for row in rows[bounds[k]:bounds[k + 1]])) for k, number in enumerate(numbers)]
    return tuple(sorted(people, key=lambda p: (-len(p.faces), p.number)))


def _stored_people(store: IndexStore, keys: pa.Array) -> np.ndarray:
    """The person each face (`content_hash:face`) was given before, -1 for none."""
    if PEOPLE not in store.tables():
        return np.full(len(keys), -1, np.int64)
    table = store.other_table(PEOPLE).to_arrow()
    table = table.take(np.arange(len(table))[::-1])  # of a face given twice, the later
    position = pc.index_in(keys, value_set=corrections.keys(table).combine_chunks())
    found = table["person"].combine_chunks().take(position.fill_null(0)) if len(table) else pa.nulls(len(keys))
    return pc.if_else(pc.is_valid(position), found, -1).to_numpy(zero_copy_only=False).astype(np.int64)


def _save_people(store: IndexStore, faces: pa.Table, person: np.ndarray, restart: bool) -> None:
    rows = pa.table({"content_hash": faces["content_hash"], "face": faces["face"].cast(pa.int32()),
                     "person": pa.array(person, pa.int32())}, schema=PEOPLE_SCHEMA)
    store.write_other_table(PEOPLE, rows, PEOPLE_SCHEMA, replace=restart)
