"""whosthat: learn the members of a group from a folder of photos per person, then name every face.

>>> import whosthat
>>> model = whosthat.train("photos/blackpink", out="blackpink.wt")   # doctest: +SKIP
>>> model.predict("concert.jpg").labels                               # doctest: +SKIP
['jennie_kim', 'lisa_manoban', 'unknown']

The public names are imported on first use, so that `import whosthat.recognition.whitening` (or any other
NumPy-only module) does not load PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from whosthat.version import __version__

#: Public name -> the module that defines it.
_PUBLIC = {
    "DatasetError": "whosthat.core.errors", "ImageError": "whosthat.core.errors",
    "ModelFileError": "whosthat.core.errors", "WhosthatError": "whosthat.core.errors",
    "Face": "whosthat.vision.face", "load_image": "whosthat.vision.images",
    "Model": "whosthat.models.model", "Ensemble": "whosthat.models.ensemble", "load": "whosthat.models.loading",
    "Prediction": "whosthat.recognition.prediction", "Predictions": "whosthat.recognition.prediction",
    "Recogniser": "whosthat.recognition.recogniser",
    "train": "whosthat.training", "TrainConfig": "whosthat.training", "TrainingLog": "whosthat.training",
    "index": "whosthat.collection", "Index": "whosthat.collection",
}

__all__ = ["DatasetError", "Ensemble", "Face", "ImageError", "Index", "Model", "ModelFileError", "Prediction",
           "Predictions", "Recogniser", "TrainConfig", "TrainingLog", "WhosthatError", "__version__", "index", "load",
           "load_image", "train"]

if TYPE_CHECKING:
    from whosthat.collection import Index, index
    from whosthat.core.errors import DatasetError, ImageError, ModelFileError, WhosthatError
    from whosthat.models.ensemble import Ensemble
    from whosthat.models.loading import load
    from whosthat.models.model import Model
    from whosthat.recognition.prediction import Prediction, Predictions
    from whosthat.recognition.recogniser import Recogniser
    from whosthat.training import TrainConfig, TrainingLog, train
    from whosthat.vision.face import Face
    from whosthat.vision.images import load_image


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'whosthat' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
