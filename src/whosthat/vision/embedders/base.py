"""The embedder interface and its registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import torch

from whosthat.vision.face import Face
from whosthat.vision.vectors import normalise


class Embedder(Protocol):
    """Maps subjects to L2-normalised vectors of `dim` floats.

    Embedding is two steps so that chips from many images can be batched: `chips` cuts each
    subject out of its image the way this embedder was trained to see it (its own alignment),
    and `embed` turns a batch of those chips into vectors.
    """

    name: str
    dim: int

    @property
    def identity(self) -> str:
        """What its vectors depend on (weights, alignment, settings): the key of caches and indexes."""
        ...

    @property
    def settings(self) -> dict:
        """JSON keywords such that `create_embedder(name, **settings)` builds it again (what a model file
        keeps; a fine-tuned network's weights, `state`, are kept apart, in the model file's arrays)."""
        ...

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[Any]:
        """One aligned chip per face, in this embedder's own form."""
        ...

    def embed(self, chips: Sequence[Any]) -> np.ndarray:
        """(n, dim) float32 unit vectors for n chips."""
        ...




_Net = TypeVar("_Net", bound=torch.nn.Module)


def channels_last(net: _Net, device: torch.device) -> _Net:
    """The network in evaluation mode on `device`, its weights in channels-last (NHWC) layout: faster on the
    CPU, with the same outputs (bench/speed.py; bench/README.md, "Settings and what chose them")."""
    # Module.to takes memory_format (its docstring says so) but torch's overloads leave it out.
    return net.eval().to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]


def embed_in_batches(chips: Sequence[np.ndarray], to_batch: Callable[[np.ndarray], torch.Tensor],
                     network: Callable[[torch.Tensor], torch.Tensor], *, dim: int, batch_size: int, flip: bool,
                     device: torch.device) -> np.ndarray:
    """(n, dim) unit vectors of chips run through a PyTorch network `batch_size` at a time.

    to_batch: stacked (B, H, W, 3) uint8 chips -> the network's (B, 3, H, W) input; with `flip`
    each chip's vector is averaged with its mirror image's (both in one forward pass). The batch
    goes in channels-last layout, as the networks are kept (`channels_last`).
    """
    if len(chips) == 0:
        return np.zeros((0, dim), np.float32)
    out = []
    with torch.inference_mode():
        for start in range(0, len(chips), batch_size):
            batch = to_batch(np.stack(chips[start:start + batch_size])).to(device)
            n = len(batch)
            if flip:
                batch = torch.cat([batch, torch.flip(batch, dims=[3])])
            batch = batch.contiguous(memory_format=torch.channels_last)
            vectors = torch.nn.functional.normalize(network(batch).float(), dim=1)
            if flip:
                vectors = vectors[:n] + vectors[n:]
            out.append(vectors.cpu().numpy())
    return normalise(np.concatenate(out))
