"""whosthat: learn the members of a group from a folder of photos per person, then name every face.

>>> import whosthat
>>> model = whosthat.train("photos/blackpink", out="blackpink.wt")   # doctest: +SKIP
>>> model.predict("concert.jpg").labels                               # doctest: +SKIP
['jennie_kim', 'lisa_manoban', 'unknown']
"""

__version__ = "0.1.0"

from whosthat.errors import DatasetError, ImageError, ModelFileError, WhosthatError  # noqa: E402
from whosthat.face import Face  # noqa: E402
from whosthat.images import load_image  # noqa: E402
from whosthat.model import Model, load  # noqa: E402
from whosthat.prediction import Prediction, Predictions  # noqa: E402
from whosthat.train import train  # noqa: E402

__all__ = ["DatasetError", "Face", "ImageError", "Model", "ModelFileError", "Prediction", "Predictions",
           "WhosthatError", "__version__", "load", "load_image", "train"]
