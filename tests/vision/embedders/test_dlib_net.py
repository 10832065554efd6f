"""dlib's face-recognition ResNet in PyTorch against dlib itself, on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import images_of
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import create_embedder
from whosthat.vision.embedders._dlib_net import load_dlib_resnet
from whosthat.vision.images import load_image
from whosthat.vision.weights import DLIB_RESNET


@pytest.fixture(scope="module")
def chips(datasets: Path) -> list[np.ndarray]:
    """dlib-aligned chips of blackpink photos (full photos: faces of many sizes and angles) and kpop15 crops."""
    embedder, detector = create_embedder("dlib"), create_detector("yunet")
    photos = datasets / "blackpink" / "photos"
    paths = [p for member in ("jennie_kim", "lisa_manoban") for p in images_of(photos / member)[:5]]
    paths += images_of(datasets / "kpop15/train/Irene")[:4]
    found = []
    for path in paths:
        image = load_image(path)
        found += embedder.chips(image, detector.detect(image)[:2])
    assert len(found) >= 12
    return found


def test_the_same_vectors_as_dlib(chips: list[np.ndarray]):
    import dlib

    reference = np.asarray(dlib.face_recognition_model_v1(str(DLIB_RESNET.path())).compute_face_descriptor(
        [np.ascontiguousarray(c) for c in chips]), np.float32)
    ours = create_embedder("dlib", batch_size=5).embed(chips)  # several batches, the last one short
    np.testing.assert_allclose(ours, reference / np.linalg.norm(reference, axis=1, keepdims=True), atol=1e-5)


def test_flip_averages_with_the_mirror_image(chips: list[np.ndarray]):
    plain, flipped = create_embedder("dlib"), create_embedder("dlib", flip=True)
    mirrored = plain.embed([np.ascontiguousarray(c[:, ::-1]) for c in chips[:3]])
    expected = plain.embed(chips[:3]) + mirrored
    np.testing.assert_allclose(flipped.embed(chips[:3]), expected / np.linalg.norm(expected, axis=1, keepdims=True),
                               atol=1e-5)
    assert flipped.identity != plain.identity


def test_a_file_that_is_not_the_network_is_refused(tmp_path: Path):
    wrong = tmp_path / "wrong.dat"
    wrong.write_bytes(b"\x01\x05con_4" + bytes(64))
    with pytest.raises(ValueError, match="wrong.dat"):
        load_dlib_resnet(wrong)


def test_a_truncated_file_is_refused(tmp_path: Path):
    cut = tmp_path / "cut.dat"
    cut.write_bytes(DLIB_RESNET.path().read_bytes()[:1_000_000])
    with pytest.raises(ValueError, match="cut.dat: not dlib's face-recognition ResNet"):
        load_dlib_resnet(cut)
