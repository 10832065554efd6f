"""Fine-tuning: a network trained end to end on the collection, with augmentation, early stopping and resume."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.training.finetune.recipes import RECIPES, Recipe
    from whosthat.training.finetune.trainer import FinetuneResult, finetune

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "RECIPES": "whosthat.training.finetune.recipes",
    "Recipe": "whosthat.training.finetune.recipes",
    "FinetuneResult": "whosthat.training.finetune.trainer",
    "finetune": "whosthat.training.finetune.trainer",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["FinetuneResult", "RECIPES", "Recipe", "finetune"]
