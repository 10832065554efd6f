"""Faces grouped into people on arrays: Chinese whispers (Biemann 2006, as dlib's `chinese_whispers`) on a graph
linking each face to its nearest faces.

Each face is linked to its NEIGHBOURS most alike faces of other photos that are within the distance; every face
starts as its own group and, round after round, takes the group its links weigh most in (weight: the cosine
similarity). A face has few links, so a chain of look-alikes does not join two people the way density or single
linkage grouping does: a face between two people follows the one most of its nearest faces belong to. Faces
given a person before keep it and draw their neighbours in; a new group needs `min_faces` faces; faces of one
photo never share a person (the one most like the person's faces stays, the others wait).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix

#: Faces each face is linked to (its nearest of other photos): chosen with bench/strangers.py; bench/README.md.
NEIGHBOURS = 8
#: Rows of the similarity matrix computed at once: bounds memory on large collections.
CHUNK = 512
#: Most rounds of updates; the groups usually settle in a few.
ROUNDS = 30
#: Random parts a round updates one after another, so a face votes with its neighbours' newest groups.
PARTS = 8
#: The least weight of a link (faces linked at a negative similarity still count for each other).
MIN_WEIGHT = 1e-3
#: No group (a face that waits).
NONE = -1


@dataclass(frozen=True)
class Faces:
    """The faces to group: unit vectors (n, dim), the photo each is in, and the person each has (NONE: none yet)."""

    vectors: np.ndarray
    photos: np.ndarray
    person: np.ndarray


def neighbour_graph(faces: Faces, similarity: float, neighbours: int = NEIGHBOURS) -> csr_matrix:
    """The symmetric (n, n) graph linking each face to its `neighbours` most alike faces of other photos at least
    `similarity` alike, weighted by that similarity; computed CHUNK rows at a time."""
    n = len(faces.vectors)
    same_from, same_to = _same_photo_pairs(faces.photos)
    keep = min(neighbours, max(n - 1, 0))
    rows, cols, weights = [], [], []
    for start in range(0, n if keep else 0, CHUNK):
        block = faces.vectors[start:start + CHUNK] @ faces.vectors.T
        local = np.arange(len(block))
        block[local, local + start] = -np.inf
        inside = (same_from >= start) & (same_from < start + len(block))
        block[same_from[inside] - start, same_to[inside]] = -np.inf
        nearest = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        alike = np.take_along_axis(block, nearest, axis=1)
        linked = alike >= similarity
        rows.append(np.broadcast_to(local[:, None] + start, nearest.shape)[linked])
        cols.append(nearest[linked])
        weights.append(np.maximum(alike[linked], MIN_WEIGHT))
    if not rows:
        return csr_matrix((n, n), dtype=np.float32)
    row, col, weight = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights).astype(np.float32)
    graph = csr_matrix((weight, (row, col)), shape=(n, n))
    return graph.maximum(graph.T).tocsr()


def whispers(graph: csr_matrix, person: np.ndarray, seed: int = 0) -> np.ndarray:
    """Chinese whispers on `graph`: per face, a group label; faces with a person (>= 0) keep `n + person` as their
    label and are never updated. Deterministic for a seed."""
    n = graph.shape[0]
    fixed = person >= 0
    label = np.where(fixed, n + person, np.arange(n))
    labels = n + (int(person.max()) + 1 if fixed.any() else 0)
    free = np.flatnonzero(~fixed & (np.diff(graph.indptr) > 0))
    rng = np.random.default_rng(seed)
    for _ in range(ROUNDS if len(free) else 0):
        changed = 0
        for part in np.array_split(rng.permutation(free), PARTS):
            links = graph[part].tocoo()
            votes = csr_matrix((links.data, (links.row, label[links.col])), shape=(len(part), labels))
            best = np.asarray(votes.argmax(axis=1)).ravel()
            changed += int((best != label[part]).sum())
            label[part] = best
        if not changed:
            break
    return label


def group(faces: Faces, similarity: float, min_faces: int, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """The person of each face: the ones given keep theirs, new faces join a person or form new ones numbered
    after the highest given, from 1 (a group of at least `min_faces` faces, largest first), or wait (NONE)."""
    n = len(faces.vectors)
    if not n:
        return faces.person.copy()
    label = whispers(neighbour_graph(faces, similarity, neighbours), faces.person)
    label = _one_face_per_photo(faces, label)
    person = faces.person.copy()
    joined = (person < 0) & (label >= n)
    person[joined] = label[joined] - n
    new = (person < 0) & (label >= 0) & (label < n)
    groups, sizes = np.unique(label[new], return_counts=True)
    order = np.argsort(-sizes, kind="stable")
    big = groups[order[sizes[order] >= min_faces]]
    number = np.full(n, NONE, np.int64)
    number[big] = np.arange(len(big)) + (int(person.max()) + 1 if (person >= 0).any() else 1)
    person[new] = number[label[new]]
    return person


def _same_photo_pairs(photos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of faces of one photo."""
    order = np.argsort(photos, kind="stable")
    sorted_photos = photos[order]
    starts = np.flatnonzero(np.r_[True, sorted_photos[1:] != sorted_photos[:-1]])
    sizes = np.diff(np.r_[starts, len(photos)])
    many = sizes > 1
    pairs = [np.array(np.meshgrid(order[s:s + k], order[s:s + k])).reshape(2, -1)
             for s, k in zip(starts[many], sizes[many])]
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    both = np.concatenate(pairs, axis=1)
    both = both[:, both[0] != both[1]]
    return both[0], both[1]


def _one_face_per_photo(faces: Faces, label: np.ndarray) -> np.ndarray:
    """The labels with, in each group, only one face of a photo: a face given its person before, else the face
    most like the group's mean; the other faces of that photo lose their label (NONE)."""
    label = label.copy()
    groups, index = np.unique(label, return_inverse=True)
    centres = np.zeros((len(groups), faces.vectors.shape[1]), faces.vectors.dtype)
    np.add.at(centres, index, faces.vectors)
    likeness = np.einsum("ij,ij->i", faces.vectors, centres[index]) + 2.0 * (faces.person >= 0)
    order = np.lexsort((-likeness, faces.photos, label))
    first = np.r_[True, (label[order][1:] != label[order][:-1]) | (faces.photos[order][1:] != faces.photos[order][:-1])]
    label[order[~first]] = NONE
    return label
