"""Embedders: conformance of every registered one on real kpop15 face crops."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import KPOP15, images_of
from whosthat.core.errors import MissingWeightsError
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import EMBEDDERS, create_embedder
from whosthat.vision.embedders.spec import made_for_faces
from whosthat.vision.images import load_image
from whosthat.vision.networks import create_network

PEOPLE = ["Irene", "Jihyo", "Lisa"]
PER_PERSON = 3


@pytest.fixture(scope="module")
def chips_input():
    """(image, faces, person) for 3 photos of 3 members, faces found by YuNet."""
    detector = create_detector("yunet")
    out = []
    for person in PEOPLE:
        for path in images_of(KPOP15 / person)[:PER_PERSON]:
            image = load_image(path)
            faces = detector.detect(image)[:1]
            assert faces, f"no face in {path}"
            out.append((image, faces, person))
    return out


def _build(name: str):
    """A registered embedder; the fine-tuned kind with the untrained weights of the tutorial CNN (shapes only);
    arcface with the user's InsightFace model when there is one (test_arcface.py checks it with a made network)."""
    if name == "arcface":
        try:
            return create_embedder(name)
        except MissingWeightsError as missing:
            pytest.skip(str(missing))
    if name != "finetuned":
        return create_embedder(name)
    state = create_network("tutorial-cnn", n_classes=3, pretrained=False).state_dict()
    return create_embedder(name, architecture="tutorial-cnn", state={k: v.numpy() for k, v in state.items()})


@pytest.fixture(scope="module", params=EMBEDDERS.names())
def embedded(request, chips_input):
    embedder = _build(request.param)
    chips = [embedder.chips(image, faces)[0] for image, faces, _ in chips_input]
    return embedder, chips, embedder.embed(chips), [person for _, _, person in chips_input]


def test_dim_and_unit_norm(embedded):
    embedder, chips, vectors, _ = embedded
    assert isinstance(embedder.dim, int) and embedder.identity
    assert vectors.shape == (len(chips), embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)


def test_same_person_closer_than_different(embedded):
    embedder, _, vectors, people = embedded
    if embedder.name == "finetuned" or not made_for_faces(embedder.name):
        pytest.skip(f"{embedder.name} is not a face-identity model (its own tests use anime crops)")
    labels = np.array(people)
    similarity = vectors @ vectors.T
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    different = labels[:, None] != labels[None, :]
    print(f"\n{embedder.name}: mean cosine same person {similarity[same].mean():.3f}, "
          f"different {similarity[different].mean():.3f}")
    # Scales differ (dlib's unit vectors all lie within ~0.1 of each other), so compare with the spread.
    gap = similarity[same].mean() - similarity[different].mean()
    assert gap > 2 * similarity[different].std(), f"{embedder.name}: same-person gap {gap:.3f} is within the noise"
    # Nearest other photo of each photo is of the same person for most photos.
    masked = np.where(np.eye(len(labels), dtype=bool), -2, similarity)
    hits = (labels[masked.argmax(axis=1)] == labels).mean()
    assert hits >= 0.7, f"{embedder.name}: nearest neighbour is the same person for {hits:.0%}"


def test_batched_equals_one_by_one(embedded):
    embedder, chips, vectors, _ = embedded
    one_by_one = np.vstack([embedder.embed([chip]) for chip in chips[:4]])  # 4 of the 9 batched: enough
    np.testing.assert_allclose(one_by_one, vectors[:4], atol=1e-4)


def test_chips_one_per_face(embedded, chips_input):
    embedder, _, _, _ = embedded
    image, faces, _ = chips_input[0]
    assert len(embedder.chips(image, faces * 2)) == 2
    assert embedder.chips(image, []) == []
