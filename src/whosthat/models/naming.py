"""From a model's evidence to names: every face of one photo named, each member given to at most one face."""

from __future__ import annotations

from typing import Optional

import numpy as np

from whosthat.core.errors import check_threshold
from whosthat.models.protocol import Namer
from whosthat.recognition.assign import UNKNOWN, assign_labels, named_class
from whosthat.recognition.prediction import UNKNOWN_LABEL, Prediction, Predictions
from whosthat.vision.extract import Subjects


def name_subjects(namer: Namer, subjects: Subjects, *, threshold: Optional[float] = None) -> Predictions:
    """The predictions for one photo's subjects, already detected and embedded, largest face first.

    threshold: the stranger threshold to use instead of the namer's calibrated one (a finite number).
    """
    check_threshold(threshold)
    if subjects.error is not None:
        return Predictions([], subjects.source, subjects.width, subjects.height, error=subjects.error)
    order = np.argsort([-face.area for face in subjects.faces], kind="stable")
    faces = [subjects.faces[i] for i in order]
    evidence = namer.evidence(subjects.embeddings[order])
    limit = namer.threshold if threshold is None else threshold
    labels = assign_labels(evidence.probabilities, evidence.stranger >= limit)
    classes = namer.classes
    predictions = []
    for face, label, p, s in zip(faces, labels, evidence.probabilities, evidence.similarity):
        cue, confidence = named_class(p, label)
        predictions.append(Prediction(
            box=face.box, detection_score=face.score, label=UNKNOWN_LABEL if label == UNKNOWN else classes[label],
            confidence=confidence, probabilities={c: float(v) for c, v in zip(classes, p)}, similarity=float(s[cue]),
            landmarks=face.landmarks))
    return Predictions(predictions, subjects.source, subjects.width, subjects.height, image=subjects.image)
