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
    """A face of a candidate person: the photo (file, path in the index, content hash), which face, its box."""

    path: Path
    name: str
    face: int
    box: tuple[float, float, float, float]
    content_hash: str


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
    return Space(None, normalise(matrix(rows["vector"], store.manifest.dim)), np.array(rows["label"].to_pylist()))


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
    keys = [f"{h}:{f}" for h, f in zip(faces["content_hash"].to_pylist(), faces["face"].to_pylist())]
    first: dict[str, int] = {}
    for n, key in enumerate(keys):
        first.setdefault(key, n)
    rows = np.array(sorted(first.values()), np.int64)
    keys = [keys[i] for i in rows]
    vectors = space.map(matrix(faces["vector"], store.manifest.dim)[rows])
    known = {} if restart else _stored_people(store)
    before = np.array([known.get(k, -1) for k in keys], np.int64)
    photos = np.unique([k.rsplit(":", 1)[0] for k in keys], return_inverse=True)[1].astype(np.int64)
    person = group(Faces(vectors, photos, before), 1.0 - distance, min_faces)
    now = np.flatnonzero((before < 0) & (person >= 0))
    if restart or len(now):
        _save_people(store, [(keys[i], int(person[i])) for i in now], restart)
    people = _people(faces, rows, person, vectors, Path(store.manifest.collection))
    return PeopleReport(people, len(keys), len(now), int((person < 0).sum()), distance, min_faces)


def _people(faces: pa.Table, rows: np.ndarray, person: np.ndarray, vectors: np.ndarray, root: Path
            ) -> tuple[Person, ...]:
    paths, numbers, boxes = faces["path"].to_pylist(), faces["face"].to_pylist(), faces["box"].to_pylist()
    hashes = faces["content_hash"].to_pylist()
    people = []
    for number in sorted(set(person[person >= 0].tolist())):
        members = np.flatnonzero(person == number)
        centre = vectors[members].mean(axis=0)
        order = members[np.argsort(-(vectors[members] @ centre), kind="stable")]
        people.append(Person(number, tuple(
            PersonFace(photo_path(root, paths[rows[i]]), paths[rows[i]], int(numbers[rows[i]]), tuple(boxes[rows[i]]),
                       hashes[rows[i]]) for i in order)))
    return tuple(sorted(people, key=lambda p: (-len(p.faces), p.number)))


def _stored_people(store: IndexStore) -> dict[str, int]:
    if PEOPLE not in store.tables():
        return {}
    table = store.other_table(PEOPLE).to_arrow()
    return {f"{h}:{f}": p for h, f, p in zip(table["content_hash"].to_pylist(), table["face"].to_pylist(),
                                              table["person"].to_pylist())}


def _save_people(store: IndexStore, assigned: list[tuple[str, int]], restart: bool) -> None:
    hashes = [k.rsplit(":", 1)[0] for k, _ in assigned]
    face_numbers = [int(k.rsplit(":", 1)[1]) for k, _ in assigned]
    rows = pa.table({"content_hash": hashes, "face": pa.array(face_numbers, pa.int32()),
                     "person": pa.array([p for _, p in assigned], pa.int32())}, schema=PEOPLE_SCHEMA)
    store.write_other_table(PEOPLE, rows, PEOPLE_SCHEMA, replace=restart)
