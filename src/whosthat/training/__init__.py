"""Training: from a folder of photos per person to a `Model`, in named stages (`whosthat.training.run`)."""

from whosthat.training.config import DEFAULT_SUBJECT, TrainConfig
from whosthat.training.log import TrainingLog
from whosthat.training.run import DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD, train

__all__ = ["DEFAULT_FACE_HEAD", "DEFAULT_IMAGE_HEAD", "DEFAULT_SUBJECT", "TrainConfig", "TrainingLog", "train"]
