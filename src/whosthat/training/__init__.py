"""Training: from a folder of photos per person to a `Model`, in named stages (`whosthat.training.run`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.training.config import DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD, DEFAULT_SUBJECT, TrainConfig
    from whosthat.training.log import TrainingLog
    from whosthat.training.run import train

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "DEFAULT_FACE_HEAD": "whosthat.training.config",
    "DEFAULT_IMAGE_HEAD": "whosthat.training.config",
    "DEFAULT_SUBJECT": "whosthat.training.config",
    "TrainConfig": "whosthat.training.config",
    "TrainingLog": "whosthat.training.log",
    "train": "whosthat.training.run",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["DEFAULT_FACE_HEAD", "DEFAULT_IMAGE_HEAD", "DEFAULT_SUBJECT", "TrainConfig", "TrainingLog", "train"]
