"""The fine-tuning stage of training: a network trained end to end on the training photos' subjects."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.errors import DatasetError
from whosthat.models.records import Split
from whosthat.training.finetune import RECIPES
from whosthat.training.finetune import finetune as run_finetune
from whosthat.training.finetune.chips import subject_chip
from whosthat.training.folder import Item
from whosthat.training.log import TrainingLog
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.detectors import create_detector
from whosthat.vision.networks import create_network


def finetune_network(architecture: str, detector: str, classes: list[str], split: Split, by_path: dict[str, Item],
                     *, epochs: Optional[int], resume: bool, workers: Optional[int], seed: int,
                     out: Optional[str | os.PathLike], cache: Optional[EmbeddingCache], log: TrainingLog
                     ) -> dict[str, np.ndarray]:
    """Train `architecture` end to end on the subjects of the training photos (early stopping on the
    validation photos) and return its best epoch's weights; `log.finetune` records the run.

    `epochs` overrides its recipe's cap; `resume` continues an interrupted run from its checkpoint
    (`out` + ".checkpoint", written every epoch, removed at the end); `workers`: DataLoader workers.
    The faces found are cached, for embedding the photos with the network afterwards.
    """
    if architecture not in RECIPES:
        raise DatasetError(f"unknown network {architecture!r}: choose one of {', '.join(RECIPES)}")
    index = {c: k for k, c in enumerate(classes)}
    size = create_network(architecture, pretrained=False).spec.size
    finder = create_detector(detector)
    chips = {}
    for relative in split.train + split.val:
        item = by_path[relative]
        chip = subject_chip(item.path, finder, size, cache)
        if chip is not None and item.label in index:
            chips[relative] = chip
    train_keys = [p for p in split.train if p in chips]
    val_keys = [p for p in split.val if p in chips]

    def stack(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        y = np.array([index[by_path[p].label] for p in keys], np.int64)
        return (np.stack([chips[p] for p in keys]) if keys else np.zeros((0, size, size, 3), np.uint8)), y

    recipe = RECIPES[architecture].with_overrides(epochs=epochs)
    checkpoint = Path(f"{os.fspath(out)}.checkpoint") if out is not None else None
    log.say(f"fine-tuning {architecture} on {len(train_keys)} training and {len(val_keys)} validation photos "
            f"({recipe.optimizer}, lr {recipe.lr:g}, up to {recipe.epochs} epochs)")
    result = run_finetune(architecture, *stack(train_keys), *stack(val_keys), len(classes), recipe=recipe, seed=seed,
                          checkpoint=checkpoint, resume=resume, workers=workers, log=log.say)
    log.finetune = result.log()
    if checkpoint is not None:
        checkpoint.unlink(missing_ok=True)
    return result.state
