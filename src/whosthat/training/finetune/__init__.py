"""Fine-tuning: a network trained end to end on the collection, with augmentation, early stopping and resume."""

from whosthat.training.finetune.recipes import RECIPES, Recipe
from whosthat.training.finetune.trainer import FinetuneResult, finetune

__all__ = ["RECIPES", "FinetuneResult", "Recipe", "finetune"]
