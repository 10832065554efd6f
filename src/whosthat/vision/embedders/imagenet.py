"""Embedders from `whosthat.vision.networks`: ImageNet backbones as they are, and networks fine-tuned on a collection.

These see the subject's box (the whole picture for `--subject image`, or a detected face with
a margin) squashed to the network's square input, as the tutorials' image generators do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import cv2
import numpy as np
import torch

from whosthat.vision.embedders.base import channels_last, default_device, embed_in_batches, torch_network
from whosthat.vision.embedders.combined import Concatenated, concatenate
from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.face import Face
from whosthat.vision.networks import PRETRAINED, Network, create_network
from whosthat.vision.weights import EFFICIENTNET_LITE0, MOBILENET_V2

#: Share of the box's size added on each side of a detected face (a whole picture is not enlarged).
FACE_MARGIN = 0.25

_WEIGHTS = {"mobilenetv2": MOBILENET_V2, "efficientnet-lite0": EFFICIENTNET_LITE0}


def crop_chip(image: np.ndarray, face: Face, size: int, margin: float = FACE_MARGIN) -> np.ndarray:
    """The face's box (enlarged by `margin`, clipped to the image) resized to (size, size, 3) uint8."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in face.box)
    if face.landmarks is not None:
        dx, dy = (x2 - x1) * margin, (y2 - y1) * margin
        x1, y1, x2, y2 = x1 - dx, y1 - dy, x2 + dx, y2 + dy
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(width, max(left + 1, int(round(x2)))), min(height, max(top + 1, int(round(y2))))
    crop = image[top:bottom, left:right]
    shrinking = crop.shape[0] > size or crop.shape[1] > size
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def to_tensor(chips: np.ndarray, network: Network) -> torch.Tensor:
    """(B, 3, size, size) float batch normalised for `network` from (B, size, size, 3) uint8 chips."""
    x = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2).float().div_(255.0)
    mean = torch.tensor(network.spec.mean).view(1, 3, 1, 1)
    std = torch.tensor(network.spec.std).view(1, 3, 1, 1)
    return (x - mean) / std


class NetworkEmbedder:
    """A `whosthat.vision.networks` network's embedding (final and tapped features), L2-normalised.

    architecture: a registered network; state: fine-tuned weights (from a model file), or None
    for the ImageNet weights; flip: average with the mirror image.
    """

    def __init__(self, architecture: str, state: Optional[Mapping[str, np.ndarray]] = None, flip: bool = False,
                 batch_size: int = 32, device: Optional[str] = None) -> None:
        if state is None and architecture not in PRETRAINED:
            raise ValueError(f"network {architecture!r} has no pretrained weights: it must be trained first")
        self.architecture = architecture
        self.state = state
        self.flip = flip
        self.batch_size = batch_size
        self.device = device or default_device()
        self.name = architecture if state is None else "finetuned"
        self._net: Optional[Network] = None
        shape = self.network() if state is not None else create_network(architecture, pretrained=False)
        self.size = shape.spec.size
        with torch.inference_mode():
            self.dim = int(shape.eval().embedding(torch.zeros(1, 3, self.size, self.size)).shape[1])

    @property
    def identity(self) -> str:
        """Architecture and weights (package version, or a digest of fine-tuned weights) and settings."""
        if self.state is None:
            weights = f"{_WEIGHTS[self.architecture].distribution}-{_WEIGHTS[self.architecture].version()}"
        else:
            digest = hashlib.sha256()
            for key in sorted(self.state):
                digest.update(key.encode())
                digest.update(np.ascontiguousarray(self.state[key]).tobytes())
            weights = digest.hexdigest()[:16]
        label = self.architecture if self.state is None else f"finetuned-{self.architecture}"
        return f"{label}@{weights}:size{self.size}:m{FACE_MARGIN}:flip{int(self.flip)}"

    @property
    def settings(self) -> dict:
        """`flip`, and for a fine-tuned network its architecture (its weights, `state`, live in the model file)."""
        return {"flip": self.flip} if self.state is None else {"architecture": self.architecture, "flip": self.flip}

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """The subjects' boxes as (size, size, 3) uint8 chips."""
        return [crop_chip(image, face, self.size) for face in faces]

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(n, dim) unit vectors."""
        return embed_in_batches(chips, lambda batch: to_tensor(batch, self.network()).numpy(),
                                torch_network(self.network().embedding, self.device), dim=self.dim,
                                batch_size=self.batch_size, flip=self.flip)

    def network(self) -> Network:
        """The network (ImageNet or fine-tuned weights), built on first use, in eval mode and channels-last."""
        if self._net is None:
            if self.state is None:
                net = create_network(self.architecture)
            else:
                n_classes = _classes_in(self.state)
                net = create_network(self.architecture, n_classes=n_classes, pretrained=False)
                net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in self.state.items()})
            self._net = channels_last(net, self.device)
        return self._net


def _classes_in(state: Mapping[str, np.ndarray]) -> int:
    """The number of classes a fine-tuned network's state was trained for (its last linear layer)."""
    last = [k for k in state if k.startswith("classifier.") and k.endswith(".weight")]
    return int(np.asarray(state[sorted(last)[-1]]).shape[0]) if last else 0


@EMBEDDERS.register("mobilenetv2")
def mobilenet_v2(flip: bool = False) -> NetworkEmbedder:
    """ImageNet MobileNetV2 features (1280-d), frozen."""
    return NetworkEmbedder("mobilenetv2", flip=flip)


@EMBEDDERS.register("efficientnet-lite0")
def efficientnet_lite0(flip: bool = False) -> NetworkEmbedder:
    """ImageNet EfficientNet-Lite0 features (1280-d), frozen."""
    return NetworkEmbedder("efficientnet-lite0", flip=flip)


@EMBEDDERS.register("mobilenetv2+efficientnet-lite0")
def imagenet_pair(**settings: Any) -> Concatenated:
    """Both ImageNet backbones side by side: the default for subjects that are not human faces."""
    return concatenate(["mobilenetv2", "efficientnet-lite0"], **settings)


@EMBEDDERS.register("finetuned")
def finetuned(architecture: str, state: Mapping[str, np.ndarray], flip: bool = False) -> NetworkEmbedder:
    """A network trained on the collection (`--finetune` or a tutorial preset); its weights live in the model file."""
    return NetworkEmbedder(architecture, state=state, flip=flip)
