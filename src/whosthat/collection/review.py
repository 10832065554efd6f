"""`review_queue`: the faces of an index whose answer (`confirm`, `move`, `stranger`) would teach the model most,
first, so that a user who answers a few of them and runs `learn` gets the most from each answer.

Each face the user has not corrected gets a score: how unsure the model is of it (active learning's uncertainty
and margin sampling) times how many faces alike it would settle with it (a face among many alike unsure faces
teaches about all of them). How unsure, the largest of:

- "near the threshold": how close its stranger score for its most probable member is to the model's threshold
  (`exp(-|score - threshold| / SCORE_SCALE)`): whether it is a member or nobody is a toss-up;
- "between two members": one minus the margin between its two most probable members, times how likely it is a
  member at all (a logistic of the same distance): which member it is, is a toss-up;
- "doubted by the collection": 1 for a face the model names on its own that the collection check
  (`whosthat.collection.consensus`) called unknown: the model and the collection disagree.

How many faces alike: the faces not corrected within the distance `people` links faces within (chosen from the
model's own training faces, in its space: `people.choose_distance`), each weighing its own unsureness, so a
crowd of sure faces adds little; the score is multiplied by (1 + that weight) to the power CROWD_POWER (one more
alike face is worth less in a large crowd). Faces are then taken greedily: once a face is taken, the score of
each face alike it is multiplied by TAKEN_DISCOUNT, so the queue spreads over many people rather than asking
about one crowd many times (batch-mode active learning). Only the POOL most unsure faces are compared with the
others (memory and time grow with POOL x faces, not faces squared); the faces after them in the queue follow
their score. Faces of copies of one photo count once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection import corrections
from whosthat.collection.people import choose_distance, model_space
from whosthat.collection.rows import matrix
from whosthat.collection.store import IndexStore
from whosthat.core.errors import WhosthatError
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.models.loading import load
from whosthat.models.model import Model

#: The faces to ask about first (`Index.review_queue`'s default limit).
DEFAULT_LIMIT = 20
#: Log-odds of the stranger score over which "near the threshold" falls by e; chosen with bench/review.py;
#: bench/README.md.
SCORE_SCALE = 1.0
#: What a face's score is multiplied by for each face alike it taken before it: chosen with bench/review.py;
#: bench/README.md.
TAKEN_DISCOUNT = 0.3
#: How a face's score grows with the unsureness of the faces alike it: (1 + their sum) to this power (less than 1:
#: one more alike face is worth less in a large crowd); chosen with bench/review.py; bench/README.md.
CROWD_POWER = 0.5
#: Faces compared with all the others for their crowd of alike faces: the most unsure ones.
POOL = 2000
#: Rows of the similarity matrix computed at once (memory: CHUNK x the number of faces).
CHUNK = 512

NEAR_THRESHOLD = "near the threshold"
BETWEEN_MEMBERS = "between two members"
DOUBTED = "doubted by the collection"


class ReviewError(WhosthatError):
    """A review queue the index cannot give: a limit that is no count."""


@dataclass(frozen=True)
class ReviewItem:
    """A face worth an answer: its photo (path in the index, content hash), which face, its box, the name the index
    gives it now, that name's probability, the member the model finds most probable and the runner-up, why it is
    asked (NEAR_THRESHOLD, BETWEEN_MEMBERS or DOUBTED), how many faces alike it has, and its score."""

    path: str
    content_hash: str
    face: int
    box: tuple[float, float, float, float]
    name: str
    confidence: float
    best: str
    second: Optional[str]
    reason: str
    alike: int
    score: float

    def to_dict(self) -> dict:
        return {"path": self.path, "content_hash": self.content_hash, "face": self.face,
                "box": [round(v, 1) for v in self.box], "name": self.name, "confidence": round(self.confidence, 4),
                "best": self.best, "second": self.second, "reason": self.reason, "alike": self.alike,
                "score": round(self.score, 4)}


@dataclass(frozen=True)
class Doubts:
    """How unsure the model is of n faces, each way (see the module), and the two most probable members' columns."""

    near: np.ndarray
    between: np.ndarray
    doubted: np.ndarray
    best: np.ndarray
    second: np.ndarray

    @property
    def unsure(self) -> np.ndarray:
        return np.maximum(np.maximum(self.near, self.between), self.doubted)

    def reasons(self) -> np.ndarray:
        """The reason of each face: the way it is most unsure (doubted first on a tie)."""
        ways = np.stack([self.doubted, self.near, self.between])
        return np.array([DOUBTED, NEAR_THRESHOLD, BETWEEN_MEMBERS], dtype=object)[ways.argmax(axis=0)]


def review_queue(store: IndexStore, limit: Optional[int] = DEFAULT_LIMIT) -> list[ReviewItem]:
    """The faces of the index no correction speaks of, the one whose answer would teach the model most first
    (see the module); at most `limit` (None or 0: every face)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ReviewError(f"limit {limit!r}: not a count of faces (0 or None: all)")
    faces = _open_faces(store)
    if not faces.num_rows:
        return []
    model = load(store.model_path())
    classes = list(store.labeller.classes)
    vectors = matrix(faces["vector"], store.manifest.dim)
    labels = np.asarray(faces["label"].to_pylist(), dtype=object)
    doubts = _doubts(model, vectors, labels, faces, len(classes))
    space = model_space(store)
    unsure = doubts.unsure
    alike, count, weight = _crowds(space.map(vectors), unsure, 1.0 - choose_distance(space))
    score = unsure * (1.0 + weight) ** CROWD_POWER
    chosen, taken_at = _taken(score, alike, limit or len(score))
    reasons = doubts.reasons()
    names = np.asarray(classes, dtype=object)
    rows = faces.select(["path", "content_hash", "face", "box", "confidence"]).take(pa.array(chosen)).to_pylist()
    return [ReviewItem(row["path"], row["content_hash"], int(row["face"]), _box(row["box"]), str(labels[i]),
                       float(row["confidence"]), str(names[doubts.best[i]]),
                       str(names[doubts.second[i]]) if len(classes) > 1 else None, str(reasons[i]), int(count[i]), at)
            for row, i, at in zip(rows, chosen, taken_at)]


def _open_faces(store: IndexStore) -> pa.Table:
    """The faces no correction speaks of, a face of copies of one photo once."""
    faces = store.scan(["path", "content_hash", "face", "box", "label", "confidence", "probabilities", "vector"])
    if not faces.num_rows:
        return faces
    key = corrections.keys(faces)
    said = corrections.read(store)
    if said.num_rows:
        faces = faces.filter(pc.invert(pc.is_in(key, value_set=corrections.keys(said))))
        key = corrections.keys(faces)
    first = np.unique(np.asarray(key.to_pylist(), dtype=object), return_index=True)[1]
    return faces.take(pa.array(np.sort(first), pa.int64()))


def _doubts(model: object, vectors: np.ndarray, labels: np.ndarray, faces: pa.Table, k: int) -> Doubts:
    """How unsure the index's model is of each face (see the module). A model of several models keeps no
    stranger score to compare: the log-odds of its stored probability of the most probable member stands for
    it, and no face is known to be doubted."""
    if isinstance(model, Model):
        evidence = model.evidence(vectors)
        probabilities = evidence.probabilities
        top = probabilities.argmax(axis=1)
        gap = evidence.stranger[np.arange(len(top)), top] - model.threshold
        checked = labels == UNKNOWN_LABEL
    else:
        probabilities = pc.list_flatten(faces["probabilities"]).to_numpy(zero_copy_only=False).reshape(-1, k)
        sure = np.clip(probabilities.max(axis=1), 1e-6, 1.0 - 1e-6)
        gap = np.log(sure / (1.0 - sure))
        checked = np.zeros(len(labels), bool)
    ranked = np.argsort(-probabilities, axis=1, kind="stable")
    best, second = ranked[:, 0], ranked[:, min(1, k - 1)]
    rows = np.arange(len(labels))
    margin = probabilities[rows, best] - (probabilities[rows, second] if k > 1 else 0.0)
    member = 1.0 / (1.0 + np.exp(-gap / SCORE_SCALE))
    doubted = (checked & (gap >= 0.0)).astype(np.float64)
    return Doubts(np.exp(-np.abs(gap) / SCORE_SCALE), (1.0 - margin) * member, doubted, best, second)


def _crowds(vectors: np.ndarray, unsure: np.ndarray, similarity: float
            ) -> tuple[dict[int, np.ndarray], np.ndarray, np.ndarray]:
    """For the POOL most unsure faces, the other faces at least `similarity` alike; for every face, how many
    there are and the unsureness they weigh together (none for faces outside the pool)."""
    n = len(vectors)
    pool = np.argsort(-unsure, kind="stable")[:POOL]
    alike: dict[int, np.ndarray] = {}
    count, weight = np.zeros(n, np.int64), np.zeros(n)
    for start in range(0, len(pool), CHUNK):
        rows = pool[start:start + CHUNK]
        close = (vectors[rows] @ vectors.T) >= similarity
        close[np.arange(len(rows)), rows] = False
        count[rows] = close.sum(axis=1)
        weight[rows] = close.astype(np.float64) @ unsure
        linked_row, linked = np.nonzero(close)
        alike.update(zip(rows.tolist(), np.split(linked, np.searchsorted(linked_row, np.arange(1, len(rows))))))
    return alike, count, weight


def _taken(score: np.ndarray, alike: dict[int, np.ndarray], limit: int) -> tuple[list[int], list[float]]:
    """The first `limit` faces in the order they are taken, and the score each had then: the highest score first,
    the score of each face alike a taken one multiplied by TAKEN_DISCOUNT. Only faces of the pool have faces alike,
    so after POOL faces the rest is taken by its score as it is then."""
    score = score.astype(np.float64).copy()
    order, scores = [], []
    for _ in range(min(limit, POOL, len(score))):
        face = int(np.argmax(score))
        order.append(face)
        scores.append(float(score[face]))
        score[alike.get(face, np.zeros(0, np.int64))] *= TAKEN_DISCOUNT
        score[face] = -np.inf
    rest = np.argsort(-score, kind="stable")[:max(0, min(limit, len(score)) - len(order))]
    return order + rest.tolist(), scores + score[rest].tolist()


def _box(values: list) -> tuple[float, float, float, float]:
    """A stored box (x1, y1, x2, y2) as plain floats."""
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2
