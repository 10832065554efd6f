"""Faces grouped into people on arrays: Chinese whispers (Biemann 2006, as dlib's `chinese_whispers`) on a graph
linking each face to its nearest faces.

Each face is linked to its NEIGHBOURS most alike faces of other photos that are within the distance (in a large
collection, looked for among the faces of its nearest clusters rather than among all of them); every face
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
#: Faces up to which each face is compared with every other; above, only with those of its nearest clusters.
EXACT_FACES = 20_000
#: Clusters whose faces a face is compared with (its own and the nearest others), faces sampled per cluster to
#: find the clusters, and rounds of k-means.
PROBED = 8
SAMPLED = 40
KMEANS_ROUNDS = 8
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
    `similarity` alike, weighted by that similarity: compared with every face up to EXACT_FACES faces, CHUNK rows
    at a time, and above that with the faces of the clusters nearest it (`_cluster_blocks`)."""
    n = len(faces.vectors)
    keep = min(neighbours, max(n - 1, 0))
    exact = n <= EXACT_FACES
    blocks = [(np.arange(start, min(start + CHUNK, n)), np.arange(n)) for start in range(0, n, CHUNK)] if exact \
        else _cluster_blocks(faces.vectors)
    links: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    held = 0
    for queries, candidates in blocks if keep else []:
        links.append(_linked(faces, queries, candidates, similarity, keep))
        held += len(links[-1][0])
        if not exact and held > 2 * keep * n:  # a face was compared in several blocks: its nearest of them so far
            links = [_nearest(*_joined(links), keep)]
            held = len(links[0][0])
    if not links:
        return csr_matrix((n, n), dtype=np.float32)
    row, col, weight = _joined(links) if exact else _nearest(*_joined(links), keep)
    graph = csr_matrix((np.maximum(weight, MIN_WEIGHT).astype(np.float32), (row, col)), shape=(n, n))
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


def _joined(links: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lists of pairs (faces, faces, similarities) as one."""
    row, col, alike = (np.concatenate(found) for found in zip(*links))
    return row, col, alike


def _linked(faces: Faces, queries: np.ndarray, candidates: np.ndarray, similarity: float, keep: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (face, face, similarity) of each of `queries` and its `keep` most alike `candidates` of other
    photos, those at least `similarity` alike: all of them for a face with at most `keep`, else its `keep` most
    alike (the rows ranked are only those)."""
    block = faces.vectors[queries] @ faces.vectors[candidates].T
    block[faces.photos[queries][:, None] == faces.photos[candidates][None, :]] = -np.inf
    passing = block >= similarity
    many = np.flatnonzero(passing.sum(axis=1) > keep)
    passing[many] = False
    row, col = np.nonzero(passing)
    if len(many):
        nearest = np.argpartition(-block[many], keep - 1, axis=1)[:, :keep]
        row, col = np.concatenate([row, np.repeat(many, keep)]), np.concatenate([col, nearest.ravel()])
    return queries[row], candidates[col], block[row, col]


def _nearest(row: np.ndarray, col: np.ndarray, alike: np.ndarray, keep: int
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of pairs (face, face, similarity), each face's `keep` most alike."""
    order = np.argsort(row + (1.0 - alike.astype(np.float64)) / 4.0)
    row, col, alike = row[order], col[order], alike[order]
    kept = np.arange(len(row)) - np.searchsorted(row, row) < keep
    return row[kept], col[kept], alike[kept]


def _cluster_blocks(vectors: np.ndarray, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(faces, faces to compare them with) blocks of an inverted file: the faces split into about the square
    root of their number of clusters (spherical k-means on a sample), and each face compared with the faces of
    the PROBED clusters nearest it: a block is a cluster's faces and those that look in it (CHUNK x 8 at a
    time)."""
    rng = np.random.default_rng(seed)
    count = max(1, int(np.sqrt(len(vectors))))
    sample = vectors[rng.choice(len(vectors), min(len(vectors), SAMPLED * count), replace=False)]
    centres = sample[rng.choice(len(sample), count, replace=False)]
    for _ in range(KMEANS_ROUNDS):
        nearest = _nearest_centres(sample, centres, 1)[:, 0]
        sums = np.zeros_like(centres)
        np.add.at(sums, nearest, sample)
        filled = np.linalg.norm(sums, axis=1) > 0
        centres[filled] = sums[filled] / np.linalg.norm(sums[filled], axis=1, keepdims=True)
    probed = _nearest_centres(vectors, centres, min(PROBED, count))
    members = _grouped(probed[:, 0], count)
    askers = _grouped(probed.ravel(), count, probed.shape[1])
    step = CHUNK * 8
    return [(asking[start:start + step], members[c]) for c, asking in enumerate(askers) if len(members[c])
            for start in range(0, len(asking), step)]


def _grouped(cluster: np.ndarray, count: int, width: int = 1) -> list[np.ndarray]:
    """For each of `count` clusters, the faces (positions in `cluster` // width) in it."""
    order = np.argsort(cluster, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(cluster, minlength=count))]
    return [order[bounds[c]:bounds[c + 1]] // width for c in range(count)]


def _nearest_centres(vectors: np.ndarray, centres: np.ndarray, k: int) -> np.ndarray:
    """(n, k) the centres most alike each vector, nearest first, CHUNK x 16 vectors at a time."""
    step, found = CHUNK * 16, []
    for start in range(0, len(vectors), step):
        alike = vectors[start:start + step] @ centres.T
        top = np.argpartition(-alike, k - 1, axis=1)[:, :k] if k < len(centres) else \
            np.broadcast_to(np.arange(len(centres)), alike.shape)
        found.append(np.take_along_axis(top, np.argsort(-np.take_along_axis(alike, top, axis=1), axis=1), axis=1))
    return np.concatenate(found) if found else np.zeros((0, k), np.int64)


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
