"""`check_names`: a face keeps its name only where the collection around it agrees.

Many photos of one stranger are easier to tell from a member than one photo is. Label spreading (Zhou
et al., "Learning with Local and Global Consistency", 2004) over a graph linking every face to its
nearest faces, both ways, among the model's training faces and every face of the collection, gives
each face a weight for every member from the training faces its neighbourhood leads to. A face the
model names on its own as a member to whom its neighbourhood gives less than KEEP_SHARE of the weight
of the member it leads to most (a crowd of one look-alike stranger, reached from another member), or
no weight at all (no training face reaches it), is called unknown. No face gains a name.

The links go both ways so that a run of near-identical photos of a member (a burst) stays linked to
her training faces through their neighbours, though each photo's own nearest faces are the others.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.recogniser import Recogniser
from whosthat.recognition.whitening import whiten

#: Neighbours of each face in the graph, and the share of the leading member's weight a face's own name needs to
#: keep it (both chosen with bench/strangers.py on blackpink and on kpop15 alone, where members' photos and
#: look-alike idols share an index; bench/README.md: a higher share takes more strangers' names, and members').
NEIGHBOURS = 7
KEEP_SHARE = 0.5
#: How much of its weight a face takes from its neighbours at each step (the rest it keeps from its own label),
#: and when the spreading stops: at this largest change of a weight, or after so many steps.
ALPHA = 0.2
TOLERANCE = 1e-9
MAX_STEPS = 200
#: Rows of the similarity matrix computed at once (memory: CHUNK x the number of faces).
CHUNK = 1024
#: The most faces an index may hold for `index` to check them: the nearest faces are found by comparing every
#: pair, whose time grows with the square of the faces (bench/README.md, "The collection check"); a larger
#: index keeps its names face by face, and the run says so.
MAX_FACES = 20_000


def member_weights(recogniser: Recogniser, vectors: np.ndarray) -> Optional[np.ndarray]:
    """(n, k) the weight label spreading from the recogniser's training faces gives each member for each of
    `vectors` (n, dim), in the order of its classes (a row of zeros: no training face reaches it); None when
    there are too few faces for a graph."""
    from scipy import sparse  # here: `index --help` must not load SciPy

    reference = recogniser.reference_
    if not len(vectors) or len(reference.y) + len(vectors) <= NEIGHBOURS:
        return None
    features = np.asarray(vectors, np.float32)
    if recogniser.whitening_ is not None:
        features = whiten(features, recogniser.whitening_)
    nodes = np.vstack([reference.X, features]).astype(np.float32)
    near = _nearest(nodes, NEIGHBOURS)
    links = sparse.csr_matrix((np.ones(near.size), (np.repeat(np.arange(len(nodes)), NEIGHBOURS), near.ravel())),
                              shape=(len(nodes), len(nodes)))
    links = links.maximum(links.T)
    scale = sparse.diags(1.0 / np.sqrt(np.asarray(links.sum(axis=1)).ravel()))
    step = scale @ links @ scale
    seeds = np.zeros((len(nodes), len(recogniser.classes_)))
    seeds[np.arange(len(reference.y)), reference.y] = 1.0
    weights = seeds
    for _ in range(MAX_STEPS):
        spread = ALPHA * (step @ weights) + (1.0 - ALPHA) * seeds
        change = np.abs(spread - weights).max()
        weights = spread
        if change < TOLERANCE:
            break
    return weights[len(reference.y):]


def check_names(model: Any, vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`labels` (the model's names of `vectors`, face by face), each kept where `member_weights` gives it at
    least KEEP_SHARE of the leading member's weight, and more than none, and "unknown" elsewhere; unchanged for
    a model that keeps no training faces (an ensemble) or too few faces."""
    labels = np.asarray(labels, dtype=object)
    recogniser = getattr(model, "recogniser", None)
    weights = member_weights(recogniser, vectors) if isinstance(recogniser, Recogniser) else None
    if weights is None:
        return labels
    column = {name: k for k, name in enumerate(recogniser.classes_)}  # type: ignore[union-attr]
    named = np.flatnonzero(labels != UNKNOWN_LABEL)
    own = weights[named, [column[label] for label in labels[named]]]
    doubted = (own <= 0.0) | (own < KEEP_SHARE * weights[named].max(axis=1))
    checked = labels.copy()
    checked[named[doubted]] = UNKNOWN_LABEL
    return checked


def _nearest(nodes: np.ndarray, k: int) -> np.ndarray:
    """(n, k) each row's k most similar other rows (cosine on unit rows), CHUNK rows at a time."""
    out = np.zeros((len(nodes), k), np.int64)
    for start in range(0, len(nodes), CHUNK):
        block = nodes[start:start + CHUNK] @ nodes.T
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf
        out[start:start + len(block)] = np.argpartition(-block, k, axis=1)[:, :k]
    return out
