"""`Prediction` and `Predictions`: the value types of one named face and of one photo's faces."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from whosthat.recognition.prediction import UNKNOWN_LABEL, Prediction, Predictions


def face(label: str, x: float) -> Prediction:
    probabilities = {"ana": 0.7, "bo": 0.3}
    return Prediction(np.array([x, 0, x + 10, 10], np.float32), 0.9, label, 0.7, probabilities, 0.5)


def photo() -> Predictions:
    return Predictions([face("ana", 0), face(UNKNOWN_LABEL, 20), face("bo", 40)], "p.jpg", 64, 32)


def test_a_photo_is_a_frozen_sequence_of_faces() -> None:
    result = photo()
    assert len(result) == 3 and result[0].label == "ana" and result[-1].label == "bo"
    assert result.labels == ["ana", UNKNOWN_LABEL, "bo"] and [p.label for p in result] == result.labels
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.source = "other.jpg"  # type: ignore[misc]
    assert not hasattr(result, "append")


def test_a_slice_keeps_the_photo_it_came_from() -> None:
    result = dataclasses.replace(photo(), error=None)
    first_two = result[:2]
    assert isinstance(first_two, Predictions) and first_two.labels == ["ana", UNKNOWN_LABEL]
    assert (first_two.source, first_two.width, first_two.height) == ("p.jpg", 64, 32)
    failed = Predictions([], "broken.jpg", 0, 0, error="broken.jpg: not an image")
    assert failed[:1].error == failed.error and failed.to_dict()["faces"] == []


def test_the_json_form_is_the_cli_contract() -> None:
    record = photo().to_dict()
    assert list(record) == ["image", "width", "height", "faces", "error"]
    assert record["faces"][1] == {"box": [20.0, 0.0, 30.0, 10.0], "detection_score": 0.9, "label": UNKNOWN_LABEL,
                                  "confidence": 0.7, "probabilities": {"ana": 0.7, "bo": 0.3}}
