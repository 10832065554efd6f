"""The `character` detector: drawn faces in real illustrations, the whole picture when it finds none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import ANIME, require
from whosthat.vision.detectors import create_detector
from whosthat.vision.images import load_image


def test_finds_drawn_faces_in_most_illustrations() -> None:
    illustrations = sorted(require(ANIME / "illustrations").rglob("*.*"))[::6]
    finder = create_detector("character")
    found = 0
    for path in illustrations:
        image = load_image(path)
        subjects = finder.detect(image)
        assert subjects, path
        whole = subjects[0].landmarks is None
        if whole:
            np.testing.assert_array_equal(subjects[0].box, [0, 0, image.shape[1], image.shape[0]])
        found += not whole
    assert found / len(illustrations) >= 0.7, f"drawn faces in {found} of {len(illustrations)} illustrations"


def test_a_picture_without_a_face_is_its_own_subject(tmp_path: Path) -> None:
    sky = np.zeros((300, 400, 3), np.uint8)
    sky[..., 2] = np.linspace(80, 255, 400, dtype=np.uint8)[None, :]
    subjects = create_detector("character").detect(sky)
    assert len(subjects) == 1 and subjects[0].landmarks is None and subjects[0].area == pytest.approx(400 * 300)
