"""Training-time augmentation (kornia, on whole batches on the training device) and the dataset of chips."""

from __future__ import annotations

import numpy as np
import torch
from kornia import augmentation as K
from torch import nn
from torch.utils.data import Dataset

from whosthat.vision.networks import InputSpec


def augmentation(spec: InputSpec) -> nn.Module:
    """The tutorials' augmentation of a float batch in [0, 1]: rotation, shifts, shear, zoom, horizontal flip
    and colour, then the network's normalisation."""
    return K.AugmentationSequential(
        K.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15), shear=8, p=1.0),
        K.RandomHorizontalFlip(),
        K.ColorJitter(brightness=0.25, contrast=0.2, saturation=0.2, hue=0.02, p=1.0),
        K.Normalize(torch.tensor(spec.mean), torch.tensor(spec.std)),
    )


def plain(spec: InputSpec) -> nn.Module:
    """What validation and prediction see: the batch normalised, nothing else."""
    return K.Normalize(torch.tensor(spec.mean), torch.tensor(spec.std))


def to_unit(chips: torch.Tensor) -> torch.Tensor:
    """A (B, 3, H, W) uint8 batch as float in [0, 1]."""
    return chips.float().div_(255)


class ChipDataset(Dataset):
    """(size, size, 3) uint8 chips and their class indices, served as (3, size, size) uint8 tensors."""

    def __init__(self, chips: np.ndarray, labels: np.ndarray) -> None:
        self.chips = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2)
        self.labels = torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.chips[index], self.labels[index]
