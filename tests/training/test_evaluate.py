"""Scoring predictions: the largest face, the member among the names, members called unknown, top-1."""

from __future__ import annotations

import numpy as np

from whosthat.recognition.prediction import UNKNOWN_LABEL, Prediction, Predictions
from whosthat.training.evaluate import NO_FACE, UNKNOWN, score_predictions

CLASSES = ["jennie", "lisa"]


def _photo(*labels: str, jennie: float = 0.5) -> Predictions:
    """A photo whose faces, largest first, were given these names (and Jennie this probability)."""
    faces = [Prediction(np.array([0, 0, 100 - 10 * k, 100 - 10 * k], np.float32), 0.9, label, 0.8,
                        {"jennie": jennie, "lisa": 1 - jennie}, 0.5) for k, label in enumerate(labels)]
    return Predictions(faces, f"photo{len(labels)}.jpg", 640, 480)


def test_a_stranger_beside_the_named_member_is_not_a_rejection():
    """A photo filed under Jennie whose largest face is somebody else, rightly unknown, and Jennie named."""
    evaluation = score_predictions(CLASSES, ["a.jpg"], [0], [_photo(UNKNOWN_LABEL, "jennie")])
    assert evaluation.predicted[0] == UNKNOWN and evaluation.accuracy == 0.0
    assert evaluation.among_accuracy == 1.0 and evaluation.members_rejected == 0.0


def test_the_member_unnamed_while_a_face_was_unknown_is_a_rejection():
    photos = [_photo(UNKNOWN_LABEL), _photo("lisa", UNKNOWN_LABEL), _photo("lisa"), Predictions([], "d.jpg", 9, 9)]
    evaluation = score_predictions(CLASSES, ["a", "b", "c", "d"], [0, 0, 0, 0], photos)
    np.testing.assert_array_equal(evaluation.rejected, [True, True, False, False])
    assert evaluation.members_rejected == 0.5 and evaluation.no_face == 1
    assert evaluation.predicted[3] == NO_FACE


def test_strangers_are_never_counted_as_rejected_members():
    evaluation = score_predictions(CLASSES, ["a", "b"], [UNKNOWN, 1], [_photo(UNKNOWN_LABEL), _photo("lisa")])
    assert not evaluation.rejected.any() and evaluation.strangers_accepted == 0.0
    assert evaluation.accuracy == 1.0 and evaluation.members_rejected == 0.0


def test_top1_is_the_most_probable_name_whether_or_not_the_threshold_let_it_through():
    """Closed-set accuracy: a member called unknown whose best guess was right counts for top-1 only."""
    photos = [_photo(UNKNOWN_LABEL, jennie=0.7), _photo("jennie", jennie=0.9), _photo(UNKNOWN_LABEL, jennie=0.2),
              Predictions([], "d.jpg", 9, 9)]
    evaluation = score_predictions(CLASSES, ["a", "b", "c", "d"], [0, 0, 0, 0], photos)
    np.testing.assert_array_equal(evaluation.top1, [True, True, False, False])
    assert evaluation.top1_accuracy == 0.5 and evaluation.accuracy == 0.25
    assert evaluation.to_dict()["top1_accuracy"] == 0.5
    assert "top-1 accuracy, the stranger threshold aside: 50.0%" in evaluation.format_text()
