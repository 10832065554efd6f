"""Training-time augmentation (torchvision transforms v2) and the dataset of chips it is applied to."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from whosthat.networks import InputSpec


def augmentation(spec: InputSpec) -> v2.Compose:
    """The tutorials' augmentation: rotation, shifts, shear, zoom, horizontal flip and colour, then normalisation."""
    return v2.Compose([
        v2.RandomAffine(degrees=15, translate=(0.1, 0.1), scale=(0.85, 1.15), shear=8),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=0.25, contrast=0.2, saturation=0.2, hue=0.02),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(spec.mean, spec.std),
    ])


def plain(spec: InputSpec) -> v2.Compose:
    """What validation and prediction see: the chip normalised, nothing else."""
    return v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(spec.mean, spec.std)])


class ChipDataset(Dataset):
    """(size, size, 3) uint8 chips and their class indices, transformed on the fly."""

    def __init__(self, chips: np.ndarray, labels: np.ndarray, transform: v2.Compose) -> None:
        self.chips = torch.from_numpy(np.ascontiguousarray(chips)).permute(0, 3, 1, 2)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.chips[index]), self.labels[index]
