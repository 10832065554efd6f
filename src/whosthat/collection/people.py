"""`group_people`: the faces nobody in the group was named on, grouped into candidate new people.

Density clustering on the face vectors, as Immich and PhotoPrism do it: a face with at least
`min_faces` faces (itself included) within `distance` (cosine) is a core face; core faces within
`distance` of each other are one person; a face near a core face joins that person; the rest wait.
Faces of one photo are never each other's neighbours: one person is not twice in a photo.
It is incremental: faces grouped once keep their person, so a grown collection adds faces to the
existing groups, or starts new ones, rather than regrouping everything (`restart` does that). The
groups are kept in the index's `people` table, keyed by photo content and face, so they survive
moves and renames; faces a new model names (after `--relabel`) leave their group.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from whosthat.collection.defaults import DEFAULT_MIN_FACES
from whosthat.collection.rows import matrix
from whosthat.collection.scan import photo_path
from whosthat.collection.schema import PEOPLE, PEOPLE_SCHEMA
from whosthat.collection.store import IndexStore, sql_text
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.vision.vectors import normalise

#: Used when the index holds too few named faces to choose the distance from (`choose_distance`).
FALLBACK_DISTANCE = 0.35
#: Share of pairs of faces named as two different members that may fall within the chosen distance.
MERGE_RATE = 0.005
#: Rows of the similarity matrix computed at once.
CHUNK = 2048


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


def choose_distance(store: IndexStore) -> float:
    """The cosine distance within which at most MERGE_RATE of the pairs of faces confidently named as two
    different members fall: how close two faces of one person must be, measured on this collection's own
    members; FALLBACK_DISTANCE when fewer than 20 faces are named."""
    rows = store.scan(["vector", "label"], f"label != {sql_text(UNKNOWN_LABEL)} AND confidence >= 0.9")
    if rows.num_rows < 20 or len(set(rows["label"].to_pylist())) < 2:
        return FALLBACK_DISTANCE
    rng = np.random.default_rng(0)
    take = rng.choice(rows.num_rows, min(rows.num_rows, 4000), replace=False)
    vectors = normalise(matrix(rows["vector"], store.manifest.dim)[take])
    labels = np.array(rows["label"].to_pylist())[take]
    distances = 1.0 - vectors @ vectors.T
    different = labels[:, None] != labels[None, :]
    return float(np.quantile(distances[different], MERGE_RATE))


def group_people(store: IndexStore, distance: Optional[float] = None, min_faces: int = DEFAULT_MIN_FACES,
                 restart: bool = False) -> PeopleReport:
    """Group the index's unknown faces (see the module); hold an `IndexLock` while it runs."""
    distance = choose_distance(store) if distance is None else float(distance)
    faces = store.scan(["path", "content_hash", "face", "box", "vector"],
                       f"label = {sql_text(UNKNOWN_LABEL)}")
    keys = [f"{h}:{f}" for h, f in zip(faces["content_hash"].to_pylist(), faces["face"].to_pylist())]
    first: dict[str, int] = {}
    for n, key in enumerate(keys):
        first.setdefault(key, n)
    rows = np.array(sorted(first.values()), np.int64)
    keys = [keys[i] for i in rows]
    vectors = normalise(matrix(faces["vector"], store.manifest.dim)[rows]) if len(rows) else np.zeros((0, 1))
    known = {} if restart else _stored_people(store)
    person = np.array([known.get(k, -1) for k in keys], np.int64)
    new = np.flatnonzero(person < 0)
    grouped_now = 0
    if len(new):
        photos = np.unique([k.rsplit(":", 1)[0] for k in keys], return_inverse=True)[1]
        neighbours = _neighbours(vectors, photos, new, 1.0 - distance)
        counts = np.array([len(n) for n in neighbours])
        core = new[counts >= min_faces]
        core_set = set(core.tolist())
        next_number = int(person.max()) + 1 if (person >= 0).any() else 1
        edges_from, edges_to = [], []
        for i, row in zip(new, neighbours):
            if i in core_set:
                for j in row:
                    if j in core_set:
                        edges_from.append(i)
                        edges_to.append(j)
        position = {i: k for k, i in enumerate(core)}
        graph = coo_matrix((np.ones(len(edges_from)), ([position[i] for i in edges_from],
                                                       [position[j] for j in edges_to])),
                           shape=(len(core), len(core)))
        _, component = connected_components(graph, directed=False)
        by_index = dict(zip(new.tolist(), neighbours))
        for c in range(int(component.max()) + 1 if len(core) else 0):
            members = core[component == c]
            links = Counter(int(person[j]) for i in members for j in by_index[i] if person[j] >= 0)
            number = links.most_common(1)[0][0] if links else next_number
            next_number += number == next_number
            person[members] = number
        for i, row in zip(new, neighbours):
            if person[i] < 0:
                near = [j for j in row if person[j] >= 0 and (j in core_set or keys[j] in known)]
                if near:
                    person[i] = person[max(near, key=lambda j: float(vectors[i] @ vectors[j]))]
        grouped_now = int((person[new] >= 0).sum())
        _save_people(store, [(keys[i], int(person[i])) for i in new if person[i] >= 0], restart)
    people = _people(faces, rows, person, vectors, Path(store.manifest.collection))
    return PeopleReport(people, len(keys), grouped_now, int((person < 0).sum()), distance, min_faces)


def _neighbours(vectors: np.ndarray, photos: np.ndarray, rows: np.ndarray, similarity: float) -> list[np.ndarray]:
    """For each of `rows`, the indexes of every face (itself included) at least `similarity` alike, leaving out
    the other faces of its own photo (one person is not twice in a photo: a crowd is not one person)."""
    out = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        block = vectors[chunk] @ vectors.T
        for i, line in zip(chunk, block):
            near = np.flatnonzero(line >= similarity)
            out.append(near[(photos[near] != photos[i]) | (near == i)])
    return out


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
