"""`refit`: a model fitted again from its own training faces and faces given since, with no photo read.

A collection's corrections (a face confirmed as a member, or as a new person; a face that is nobody of
the group) are faces whose vectors the index already holds. The model keeps its training faces (in the
space its head works in, from which `whitening.unwhiten` brings the embeddings back) and the faces of
the non-members it learned, so the head, its stranger score and its threshold are fitted and calibrated
again on all of them as `train` does, in seconds. The detector and the embedder stay as they are.

The faces given are kept after the training ones, and the model's record counts them, so that fitting
a model that was itself fitted again starts from its training faces alone: the faces given replace
the earlier ones (a correction undone is forgotten) rather than adding to them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Optional

import numpy as np

from whosthat.models.model import Model
from whosthat.models.records import LearnedRecord, ReferencePhotos
from whosthat.recognition.recogniser import Recogniser
from whosthat.recognition.whitening import unwhiten

#: The person each face learned as nobody of the group is taken for when calibrating: each one its own
#: (nothing says two of them are one person), apart from the others' people of training.
GIVEN = "given"


def training_embeddings(recogniser: Recogniser) -> tuple[np.ndarray, np.ndarray]:
    """The (n, dim) embeddings a fitted recogniser learned its members from, and their (n,) class names."""
    reference = recogniser.reference_
    X = reference.X if recogniser.whitening_ is None else unwhiten(reference.X, recogniser.whitening_)
    return X, np.asarray(recogniser.classes_, dtype=object)[reference.y]


def given(model: Model) -> Optional[LearnedRecord]:
    """What the model learned from faces given after training (None: it was never fitted again)."""
    return model.training.learned if model.training is not None else None


def refit(model: Model, faces: np.ndarray, names: Sequence[str], nobody: np.ndarray, *, source: str = "") -> Model:
    """`model` fitted again on its training faces plus `faces` (m, dim) learned as `names` (members, or new
    people, who become members) and `nobody` (k, dim) learned as nobody of the group, beside the non-members
    it learned before. `source` (where the faces came from) goes into the model's training record with the
    counts. Raises `TooFewClassesError` if fewer than two members would be left."""
    recogniser = model.recogniser
    before = given(model)
    X, y = training_embeddings(recogniser)
    kept = len(y) - (sum(before.confirmed.values()) if before is not None else 0)
    X, y = X[:kept], y[:kept]
    faces = np.asarray(faces, np.float32).reshape(-1, X.shape[1])
    nobody = np.asarray(nobody, np.float32).reshape(-1, X.shape[1])
    labels = np.asarray(list(names), dtype=object)
    if len(labels) != len(faces):
        raise ValueError(f"{len(labels)} names for {len(faces)} faces")
    negatives, people = _negatives(recogniser, nobody, before.negatives if before is not None else 0)
    seen = np.arange(len(y) + len(faces)) < len(y) if model.embedder.name == "finetuned" else None
    fitted = Recogniser(**recogniser.get_params()).fit(
        np.vstack([X, faces]), np.concatenate([y, labels]), seen=seen,
        **({"negatives": negatives, "negative_people": people} if negatives is not None else {}))
    learned = LearnedRecord(source, dict(sorted(Counter(labels.tolist()).items())), len(nobody),
                            tuple(sorted(set(labels.tolist()) - set(y.tolist()))))
    training = model.training
    if training is not None:
        photos = training.reference_photos
        training = replace(
            training, validation=None, test=None, learned=learned,
            reference_photos=ReferencePhotos(photos.root, photos.paths[:kept] + ("",) * len(faces),
                                             np.vstack([photos.boxes[:kept], np.zeros((len(faces), 4), np.float32)])))
    return Model(model.detector, model.embedder, fitted, embedder_state=model.embedder_state, training=training)


def _negatives(recogniser: Recogniser, nobody: np.ndarray, replaced: int
               ) -> tuple[Optional[np.ndarray], Optional[np.ndarray]]:
    """The non-members the recogniser learned at training (the last `replaced` were given since, and go), with
    the new ones, each its own person."""
    before = recogniser.negatives_
    people = np.array([f"{GIVEN} {k}" for k in range(len(nobody))], dtype=object)
    if before is None or len(before) <= replaced:
        return (nobody, people) if len(nobody) else (None, None)
    kept = len(before) - replaced
    return (np.vstack([before.X[:kept], nobody]),
            np.concatenate([np.asarray(before.people[:kept], dtype=object), people]))
