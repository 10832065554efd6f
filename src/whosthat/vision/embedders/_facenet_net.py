"""Inception-ResNet-v1 FaceNet in PyTorch, with weights read from the Keras .h5 by h5py.

The Keras file is never loaded through Keras: its Lambda layers carry marshalled
bytecode, so only the plain weight arrays and the JSON config are read. Each
Conv2D + BatchNormalization pair (and the final Dense + BatchNormalization) is
folded into one convolution (linear layer) with bias, which is exact in eval mode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

import h5py
import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from whosthat.core.files import replacing

__all__ = ["build_facenet", "save_converted", "load_converted", "InceptionResnetV1"]

_BN_EPSILON = 1e-3
_INPUT_SIZE = 160


class _ConvBN(nn.Module):
    """Keras Conv2D (no bias) + BatchNormalization (no gamma) + optional ReLU, as one conv."""

    def __init__(
        self,
        keras_name: str,
        cin: int,
        cout: int,
        kernel: int | tuple[int, int],
        stride: int = 1,
        same: bool = False,
        relu: bool = True,
    ) -> None:
        super().__init__()
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        # Every 'same' conv in this net has stride 1 and odd kernels, so TF's padding is symmetric.
        assert not (same and stride != 1)
        padding = (kh // 2, kw // 2) if same else (0, 0)
        self.keras_name = keras_name
        self.conv = nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding=padding, bias=True)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Convolve and (optionally) rectify."""
        x = self.conv(x)
        return torch.relu(x) if self.relu else x


class _UpConv(nn.Module):
    """Keras 1x1 Conv2D with bias and no BatchNormalization (the residual projection)."""

    def __init__(self, keras_name: str, cin: int, cout: int) -> None:
        super().__init__()
        self.keras_name = keras_name
        self.conv = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project channels."""
        return self.conv(x)


def _max_pool(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-2 'valid' max pooling, as used by the stem and both reductions."""
    return nn.functional.max_pool2d(x, kernel_size=3, stride=2)


class _Block35(nn.Module):
    """Inception-ResNet-A block on 17x17x256 (5 in a row, residual scale 0.17)."""

    def __init__(self, i: int, scale: float = 0.17) -> None:
        super().__init__()
        p = f"Block35_{i}_"
        self.scale = scale
        self.branch0 = _ConvBN(p + "Branch_0_Conv2d_1x1", 256, 32, 1, same=True)
        self.branch1 = nn.Sequential(
            _ConvBN(p + "Branch_1_Conv2d_0a_1x1", 256, 32, 1, same=True),
            _ConvBN(p + "Branch_1_Conv2d_0b_3x3", 32, 32, 3, same=True),
        )
        self.branch2 = nn.Sequential(
            _ConvBN(p + "Branch_2_Conv2d_0a_1x1", 256, 32, 1, same=True),
            _ConvBN(p + "Branch_2_Conv2d_0b_3x3", 32, 32, 3, same=True),
            _ConvBN(p + "Branch_2_Conv2d_0c_3x3", 32, 32, 3, same=True),
        )
        self.up = _UpConv(p + "Conv2d_1x1", 96, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + scale * up(concat(branches)), then ReLU."""
        mixed = torch.cat([self.branch0(x), self.branch1(x), self.branch2(x)], dim=1)
        return torch.relu(x + self.scale * self.up(mixed))


class _Block17(nn.Module):
    """Inception-ResNet-B block on 8x8x896 (10 in a row, residual scale 0.1)."""

    def __init__(self, i: int, scale: float = 0.1) -> None:
        super().__init__()
        p = f"Block17_{i}_"
        self.scale = scale
        self.branch0 = _ConvBN(p + "Branch_0_Conv2d_1x1", 896, 128, 1, same=True)
        self.branch1 = nn.Sequential(
            _ConvBN(p + "Branch_1_Conv2d_0a_1x1", 896, 128, 1, same=True),
            _ConvBN(p + "Branch_1_Conv2d_0b_1x7", 128, 128, (1, 7), same=True),
            _ConvBN(p + "Branch_1_Conv2d_0c_7x1", 128, 128, (7, 1), same=True),
        )
        self.up = _UpConv(p + "Conv2d_1x1", 256, 896)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + scale * up(concat(branches)), then ReLU."""
        mixed = torch.cat([self.branch0(x), self.branch1(x)], dim=1)
        return torch.relu(x + self.scale * self.up(mixed))


class _Block8(nn.Module):
    """Inception-ResNet-C block on 3x3x1792 (scale 0.2; the 6th has scale 1 and no ReLU)."""

    def __init__(self, i: int, scale: float = 0.2, relu: bool = True) -> None:
        super().__init__()
        p = f"Block8_{i}_"
        self.scale = scale
        self.relu = relu
        self.branch0 = _ConvBN(p + "Branch_0_Conv2d_1x1", 1792, 192, 1, same=True)
        self.branch1 = nn.Sequential(
            _ConvBN(p + "Branch_1_Conv2d_0a_1x1", 1792, 192, 1, same=True),
            _ConvBN(p + "Branch_1_Conv2d_0b_1x3", 192, 192, (1, 3), same=True),
            _ConvBN(p + "Branch_1_Conv2d_0c_3x1", 192, 192, (3, 1), same=True),
        )
        self.up = _UpConv(p + "Conv2d_1x1", 384, 1792)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x + scale * up(concat(branches)), then ReLU unless this is the last block."""
        mixed = torch.cat([self.branch0(x), self.branch1(x)], dim=1)
        x = x + self.scale * self.up(mixed)
        return torch.relu(x) if self.relu else x


class _Mixed6a(nn.Module):
    """Reduction-A: 17x17x256 -> 8x8x896."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = _ConvBN("Mixed_6a_Branch_0_Conv2d_1a_3x3", 256, 384, 3, stride=2)
        self.branch1 = nn.Sequential(
            _ConvBN("Mixed_6a_Branch_1_Conv2d_0a_1x1", 256, 192, 1, same=True),
            _ConvBN("Mixed_6a_Branch_1_Conv2d_0b_3x3", 192, 192, 3, same=True),
            _ConvBN("Mixed_6a_Branch_1_Conv2d_1a_3x3", 192, 256, 3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the two conv branches and the max-pool branch."""
        return torch.cat([self.branch0(x), self.branch1(x), _max_pool(x)], dim=1)


class _Mixed7a(nn.Module):
    """Reduction-B: 8x8x896 -> 3x3x1792."""

    def __init__(self) -> None:
        super().__init__()
        self.branch0 = nn.Sequential(
            _ConvBN("Mixed_7a_Branch_0_Conv2d_0a_1x1", 896, 256, 1, same=True),
            _ConvBN("Mixed_7a_Branch_0_Conv2d_1a_3x3", 256, 384, 3, stride=2),
        )
        self.branch1 = nn.Sequential(
            _ConvBN("Mixed_7a_Branch_1_Conv2d_0a_1x1", 896, 256, 1, same=True),
            _ConvBN("Mixed_7a_Branch_1_Conv2d_1a_3x3", 256, 256, 3, stride=2),
        )
        self.branch2 = nn.Sequential(
            _ConvBN("Mixed_7a_Branch_2_Conv2d_0a_1x1", 896, 256, 1, same=True),
            _ConvBN("Mixed_7a_Branch_2_Conv2d_0b_3x3", 256, 256, 3, same=True),
            _ConvBN("Mixed_7a_Branch_2_Conv2d_1a_3x3", 256, 256, 3, stride=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the three conv branches and the max-pool branch."""
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), _max_pool(x)], dim=1)


class InceptionResnetV1(nn.Module):
    """FaceNet Inception-ResNet-v1: (N, 3, 160, 160) prewhitened RGB -> (N, 128) raw embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _ConvBN("Conv2d_1a_3x3", 3, 32, 3, stride=2),
            _ConvBN("Conv2d_2a_3x3", 32, 32, 3),
            _ConvBN("Conv2d_2b_3x3", 32, 64, 3, same=True),
            nn.MaxPool2d(3, stride=2),
            _ConvBN("Conv2d_3b_1x1", 64, 80, 1),
            _ConvBN("Conv2d_4a_3x3", 80, 192, 3),
            _ConvBN("Conv2d_4b_3x3", 192, 256, 3, stride=2),
        )
        self.repeat_1 = nn.Sequential(*[_Block35(i) for i in range(1, 6)])
        self.mixed_6a = _Mixed6a()
        self.repeat_2 = nn.Sequential(*[_Block17(i) for i in range(1, 11)])
        self.mixed_7a = _Mixed7a()
        self.repeat_3 = nn.Sequential(*[_Block8(i) for i in range(1, 6)])
        self.block8 = _Block8(6, scale=1.0, relu=False)
        # Keras 'Bottleneck' Dense + 'Bottleneck_BatchNorm', folded; Dropout is a no-op here.
        self.bottleneck = nn.Linear(1792, 128, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed prewhitened NCHW images."""
        x = self.stem(x)
        x = self.repeat_1(x)
        x = self.mixed_6a(x)
        x = self.repeat_2(x)
        x = self.mixed_7a(x)
        x = self.repeat_3(x)
        x = self.block8(x)
        return self.bottleneck(x.mean(dim=(2, 3)))


class _H5Weights:
    """Reads Keras weight arrays by layer name and records which were taken, to prove full use."""

    def __init__(self, f: h5py.File) -> None:
        self._root = f["model_weights"]
        self.arrays: dict[str, np.ndarray] = {}
        self._root.visititems(self._collect)
        self.used: set[str] = set()

    def _collect(self, name: str, obj: h5py.Dataset | h5py.Group) -> None:
        """Load every dataset into memory, keyed by its path under model_weights."""
        if isinstance(obj, h5py.Dataset):
            self.arrays[name] = np.asarray(obj[()], dtype=np.float32)

    def take(self, layer: str, weight: str) -> np.ndarray:
        """Return layer/layer/weight:0 and mark it used exactly once."""
        key = f"{layer}/{layer}/{weight}:0"
        if key not in self.arrays:
            raise ValueError(f"FaceNet h5 lacks weight {key!r}")
        if key in self.used:
            raise ValueError(f"FaceNet h5 weight {key!r} would be used twice")
        self.used.add(key)
        return self.arrays[key]

    def bn_fold(self, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (multiplier, offset) of a gamma-less BatchNormalization in eval mode."""
        beta = self.take(layer, "beta")
        mean = self.take(layer, "moving_mean")
        var = self.take(layer, "moving_variance")
        mult = 1.0 / np.sqrt(var.astype(np.float64) + _BN_EPSILON)
        return mult, beta - mean * mult


def _copy(dst: Optional[torch.Tensor], value: np.ndarray, what: str, filled: set[int]) -> None:
    """Copy a converted array into a parameter (a layer's bias may be None) after checking its shape."""
    if dst is None:
        raise ValueError(f"FaceNet layer {what} has no parameter for the h5 file's {value.shape} array")
    if tuple(dst.shape) != value.shape:
        raise ValueError(
            f"FaceNet h5 shape mismatch for {what}: {value.shape} vs {tuple(dst.shape)}"
        )
    with torch.no_grad():
        dst.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))
    filled.add(id(dst))


def _check_config(f: h5py.File, model: InceptionResnetV1) -> None:
    """Check the file's residual scales and BatchNorm settings match the hard-coded ones."""
    layers = json.loads(f.attrs["model_config"])["config"]["layers"]
    scales = {
        m.up.keras_name: m.scale
        for m in model.modules()
        if isinstance(m, (_Block35, _Block17, _Block8))
    }
    for layer in layers:
        cfg = layer["config"]
        if layer["class_name"] == "Lambda":
            source = layer["inbound_nodes"][0][0][0]
            if scales.get(source) != cfg["arguments"]["scale"]:
                raise ValueError(
                    f"FaceNet h5 residual scale of {source!r} is {cfg['arguments']['scale']}"
                )
        elif layer["class_name"] == "BatchNormalization":
            if (cfg["center"], cfg["scale"], cfg["epsilon"]) != (True, False, _BN_EPSILON):
                raise ValueError(
                    f"FaceNet h5 BatchNorm {cfg['name']!r} has an unexpected configuration"
                )
    if sum(layer["class_name"] == "Lambda" for layer in layers) != len(scales):
        raise ValueError("FaceNet h5 has a different number of residual blocks")


def _load_h5(model: InceptionResnetV1, h5_path: str | os.PathLike) -> None:
    """Fill every parameter of `model` from the Keras file, using every array exactly once."""
    filled: set[int] = set()
    with h5py.File(h5_path, "r") as f:
        _check_config(f, model)
        weights = _H5Weights(f)
    for module in model.modules():
        if isinstance(module, _ConvBN):
            kernel = weights.take(module.keras_name, "kernel")  # (kh, kw, cin, cout)
            mult, offset = weights.bn_fold(module.keras_name + "_BatchNorm")
            _copy(
                module.conv.weight,
                kernel.transpose(3, 2, 0, 1) * mult[:, None, None, None],
                module.keras_name,
                filled,
            )
            _copy(module.conv.bias, offset, module.keras_name, filled)
        elif isinstance(module, _UpConv):
            kernel = weights.take(module.keras_name, "kernel")
            _copy(module.conv.weight, kernel.transpose(3, 2, 0, 1), module.keras_name, filled)
            _copy(
                module.conv.bias, weights.take(module.keras_name, "bias"), module.keras_name, filled
            )
    kernel = weights.take("Bottleneck", "kernel")  # (1792, 128)
    mult, offset = weights.bn_fold("Bottleneck_BatchNorm")
    _copy(model.bottleneck.weight, kernel.T * mult[:, None], "Bottleneck", filled)
    _copy(model.bottleneck.bias, offset, "Bottleneck", filled)

    unused = sorted(set(weights.arrays) - weights.used)
    if unused:
        raise ValueError(f"FaceNet h5 has {len(unused)} unused weight arrays, e.g. {unused[:3]}")
    unfilled = [name for name, t in model.state_dict(keep_vars=True).items() if id(t) not in filled]
    if unfilled:
        raise ValueError(
            f"FaceNet module has {len(unfilled)} unfilled tensors, e.g. {unfilled[:3]}"
        )


def build_facenet(h5_path: str | os.PathLike) -> torch.nn.Module:
    """Inception-ResNet-v1 with the Keras file's weights, in eval mode."""
    model = InceptionResnetV1()
    _load_h5(model, h5_path)
    return model.eval().requires_grad_(False)


def save_converted(module: torch.nn.Module, path: str | os.PathLike) -> None:
    """Write the state_dict as safetensors atomically, so a cache never holds a partial file."""
    path = Path(path)
    state = {k: v.detach().contiguous() for k, v in module.state_dict().items()}
    with replacing(path) as temporary:
        save_file(state, str(temporary))


def load_converted(path: str | os.PathLike) -> torch.nn.Module:
    """Rebuild the network from a file written by save_converted, in eval mode."""
    model = InceptionResnetV1()
    model.load_state_dict(load_file(os.fspath(path)), strict=True)
    return model.eval().requires_grad_(False)
