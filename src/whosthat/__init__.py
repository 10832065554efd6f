"""whosthat: learn the members of a group from a folder of photos per person, then name every face.

>>> import whosthat
>>> model = whosthat.train("photos/blackpink", out="blackpink.wt")   # doctest: +SKIP
>>> model.predict("concert.jpg").labels                               # doctest: +SKIP
['jennie_kim', 'lisa_manoban', 'unknown']

The public names are imported on first use, so that `import whosthat.whitening` (or any other
NumPy-only module) does not load PyTorch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from whosthat.version import __version__

#: Public name -> the module that defines it.
_PUBLIC = {
    "DatasetError": "whosthat.errors", "ImageError": "whosthat.errors", "ModelFileError": "whosthat.errors",
    "WhosthatError": "whosthat.errors", "Face": "whosthat.face", "load_image": "whosthat.images",
    "Model": "whosthat.model", "Ensemble": "whosthat.ensemble", "load": "whosthat.loading",
    "Prediction": "whosthat.prediction", "Predictions": "whosthat.prediction", "Recogniser": "whosthat.recogniser",
    "train": "whosthat.training", "TrainConfig": "whosthat.training", "TrainingLog": "whosthat.training",
    "index": "whosthat.collection", "Index": "whosthat.collection",
}

__all__ = ["DatasetError", "Ensemble", "Face", "ImageError", "Index", "Model", "ModelFileError", "Prediction",
           "Predictions", "Recogniser", "TrainConfig", "TrainingLog", "WhosthatError", "__version__", "index", "load",
           "load_image", "train"]

if TYPE_CHECKING:
    from whosthat.collection import Index, index
    from whosthat.ensemble import Ensemble
    from whosthat.errors import DatasetError, ImageError, ModelFileError, WhosthatError
    from whosthat.face import Face
    from whosthat.images import load_image
    from whosthat.loading import load
    from whosthat.model import Model
    from whosthat.prediction import Prediction, Predictions
    from whosthat.recogniser import Recogniser
    from whosthat.training import TrainConfig, TrainingLog, train


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'whosthat' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value
