"""The plain-PyTorch MobileNetV2 and EfficientNet-Lite0 with their pinned ImageNet weights.

Two networks trained apart agree on what real photos show only when both are built and loaded
right: a wrong padding, a block out of order or a weight in the wrong place breaks the agreement.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ANIME, DATASETS, missing
from whosthat.vision.architectures import EfficientNetLite0, mobilenet_v2_features
from whosthat.vision.networks import InputSpec, create_network
from whosthat.vision.weights import EFFICIENTNET_LITE0, MOBILENET_V2


def _batch(path, spec: InputSpec) -> torch.Tensor:
    rgb = np.asarray(Image.open(path).convert("RGB").resize((spec.size, spec.size)), dtype=np.float32) / 255
    return torch.from_numpy((rgb - spec.mean) / spec.std).permute(2, 0, 1)[None].float()


def test_both_networks_see_the_same_imagenet_classes_in_real_photos() -> None:
    photos = (sorted((DATASETS / "blackpink" / "unlabeled").glob("*.jp*g"))[:4]
              + sorted((DATASETS / "kpop15" / "unlabeled").glob("*.jp*g"))[:4]
              + sorted((ANIME / "illustrations").rglob("*.jpg"))[:4])
    if len(photos) < 12:
        missing(f"the shared photos are not there ({DATASETS})")
    mobilenet, lite = create_network("mobilenetv2").eval(), create_network("efficientnet-lite0").eval()
    head_a = torch.load(MOBILENET_V2.path(), weights_only=True)
    head_b = torch.load(EFFICIENTNET_LITE0.path(), weights_only=True)
    shared = []
    with torch.inference_mode():
        for path in photos:
            a = mobilenet.features(_batch(path, mobilenet.spec)) @ head_a["classifier.1.weight"].T
            b = lite.features(_batch(path, lite.spec)) @ head_b["_fc.weight"].T
            top_a = set((a + head_a["classifier.1.bias"]).topk(5).indices[0].tolist())
            top_b = set((b + head_b["_fc.bias"]).topk(5).indices[0].tolist())
            shared.append(len(top_a & top_b))
    # Two unrelated rankings of 1000 classes share a top-5 class about 2.5 % of the time.
    assert sum(s > 0 for s in shared) >= 10, shared
    assert np.mean(shared) >= 1.5, shared


@pytest.mark.parametrize("size", [224, 161, 97])
def test_any_input_size_gives_one_1280_vector(size: int) -> None:
    with torch.inference_mode():
        assert EfficientNetLite0().eval()(torch.rand(2, 3, size, size)).shape == (2, 1280)
        assert mobilenet_v2_features().eval()(torch.rand(1, 3, size, size)).shape[:2] == (1, 1280)
