"""The embedder interface and its registry."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from whosthat.vision.face import Face
from whosthat.vision.vectors import normalise

if TYPE_CHECKING:
    import torch


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




def default_device() -> str:
    """"cuda" when PyTorch sees a GPU, else "cpu". A CPU build of PyTorch (its version ends in "+cpu") is known
    without importing it, so that naming faces on the CPU, which runs in ONNX Runtime, never loads PyTorch."""
    try:
        if importlib.metadata.version("torch").endswith("+cpu"):
            return "cpu"
    except importlib.metadata.PackageNotFoundError:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


_Net = TypeVar("_Net", bound="torch.nn.Module")


def channels_last(net: _Net, device: str) -> _Net:
    """The network in evaluation mode on `device`, its weights in channels-last (NHWC) layout: faster on the
    CPU, with the same outputs (bench/speed.py; bench/README.md, "Settings and what chose them")."""
    import torch

    # Module.to takes memory_format (its docstring says so) but torch's overloads leave it out.
    return net.eval().to(torch.device(device), memory_format=torch.channels_last)  # type: ignore[call-overload]


def torch_network(forward: Callable[[Any], Any], device: str) -> Callable[[np.ndarray], np.ndarray]:
    """A PyTorch network (kept in channels-last, `channels_last`) as `embed_in_batches` calls one: a (B, 3, H, W)
    float32 array in, its (B, dim) outputs out, run on `device` without gradients."""
    import torch

    def run(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(batch).to(torch.device(device)).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            return forward(x).float().cpu().numpy()
    return run


def embed_in_batches(chips: Sequence[np.ndarray], to_batch: Callable[[np.ndarray], np.ndarray],
                     network: Callable[[np.ndarray], np.ndarray], *, dim: int, batch_size: int,
                     flip: bool) -> np.ndarray:
    """(n, dim) unit vectors of chips run through a network `batch_size` at a time.

    to_batch: stacked (B, H, W, 3) uint8 chips -> the network's (B, 3, H, W) float32 input; network: that input
    -> (B, dim) outputs (an ONNX Runtime session, or `torch_network`). With `flip` each chip's vector is averaged
    with its mirror image's (both in one pass).
    """
    if len(chips) == 0:
        return np.zeros((0, dim), np.float32)
    out = []
    for start in range(0, len(chips), batch_size):
        batch = to_batch(np.stack(chips[start:start + batch_size]))
        n = len(batch)
        if flip:
            batch = np.concatenate([batch, batch[:, :, :, ::-1]])
        vectors = normalise(np.asarray(network(np.ascontiguousarray(batch, np.float32)), np.float32))
        if flip:
            vectors = vectors[:n] + vectors[n:]
        out.append(vectors)
    return normalise(np.concatenate(out))
