"""The ImageNet backbones as embedders: real weights from the pinned packages, on real anime crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from whosthat.recognition.heads import create_head
from whosthat.vision.embedders import create_embedder
from whosthat.vision.face import Face
from whosthat.vision.images import load_image
from whosthat.vision.networks import NETWORKS, create_network


def _crops(folder: Path) -> tuple[list[np.ndarray], np.ndarray]:
    images, labels = [], []
    for k, person in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        for path in sorted(person.iterdir()):
            images.append(load_image(path))
            labels.append(k)
    return images, np.array(labels)


def _embed(name: str, images: list[np.ndarray]) -> np.ndarray:
    embedder = create_embedder(name)
    chips = [chip for image in images for chip in embedder.chips(image, [Face.whole_image(image.shape[1],
                                                                                        image.shape[0])])]
    return embedder.embed(chips)


@pytest.mark.parametrize("name", ["mobilenetv2", "efficientnet-lite0"])
def test_backbone_features_tell_characters_apart(name: str, anime_train_dir: Path, anime_test_dir: Path) -> None:
    train_images, y_train = _crops(anime_train_dir)
    test_images, y_test = _crops(anime_test_dir)
    X_train, X_test = _embed(name, train_images), _embed(name, test_images)
    assert X_train.shape[1] == create_embedder(name).dim
    np.testing.assert_allclose(np.linalg.norm(X_train, axis=1), 1.0, atol=1e-5)
    head = create_head("logistic")
    head.fit(X_train, y_train, 4)
    accuracy = (head.predict_proba(X_test).argmax(1) == y_test).mean()
    assert accuracy >= 0.8, f"{name}: {accuracy:.0%} on {len(y_test)} held-out crops of 4 characters"


def test_pretrained_weights_are_loaded_not_random() -> None:
    """The ImageNet weights change the features; an untrained network gives others."""
    x = torch.rand(1, 3, 224, 224)
    for name in ("mobilenetv2", "efficientnet-lite0"):
        trained, blank = create_network(name).eval(), create_network(name, pretrained=False).eval()
        with torch.inference_mode():
            assert not torch.allclose(trained.features(x), blank.features(x), atol=1e-3)


@pytest.mark.parametrize("name", NETWORKS.names())
def test_every_network_classifies_a_batch(name: str) -> None:
    net = create_network(name, n_classes=5, pretrained=False).eval()
    size = net.spec.size
    with torch.inference_mode():
        assert net(torch.zeros(2, 3, size, size)).shape == (2, 5)
        assert net.embedding(torch.zeros(2, 3, size, size)).shape[0] == 2
