"""dlib's face-recognition ResNet (`dlib_face_recognition_resnet_model_v1.dat`) as a PyTorch module.

The file is dlib's own serialisation of its `anet_type` network: a ResNet with 29 convolutions,
each followed by a per-channel affine layer (dlib's batch normalisation, frozen), residual blocks
whose shortcut is added with zero padding where the shapes differ, global average pooling and a
128-d linear layer without bias. `load_dlib_resnet` takes the weights out of that file (integers
in dlib's variable-length form, tensors as little-endian float32); `DlibResNet29` computes what
`dlib.face_recognition_model_v1.compute_face_descriptor` computes, to within about 1e-6, many
times faster on the CPU and on CUDA when there is a GPU.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: dlib's input layer (`input_rgb_image_sized<150>`): RGB minus these means, divided by 256.
#: (channels, first block halves the size) of each residual block, input side first.
BLOCKS = ((32, False),) * 3 + ((64, True),) + ((64, False),) * 3 + ((128, True),) + ((128, False),) * 2 \
    + ((256, True),) + ((256, False),) * 2 + ((256, True),)
EMBEDDING_DIM = 128


class _Reader:
    """dlib's serialised values at a position of the file's bytes."""

    def __init__(self, data: bytes, position: int) -> None:
        self.data, self.position = data, position

    def integer(self) -> int:
        """A signed integer: a byte holding the length (low 4 bits) and sign (bit 7), then little-endian bytes."""
        header = self.data[self.position]
        size = header & 0x0F
        value = int.from_bytes(self.data[self.position + 1:self.position + 1 + size], "little")
        self.position += 1 + size
        return -value if header & 0x80 else value

    def tensor(self) -> np.ndarray:
        """A tensor: a version, four dimensions, then the values as little-endian float32."""
        self.integer()
        count = int(np.prod([self.integer() for _ in range(4)]))
        values = np.frombuffer(self.data, "<f4", count, self.position).astype(np.float32)
        self.position += 4 * count
        return values

    def alias(self) -> tuple[int, ...]:
        """The shape of a view into a layer's parameters: a version, then four dimensions."""
        self.integer()
        return tuple(self.integer() for _ in range(4))


def _read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[int, int]]]:
    """The weights of dlib's face-recognition ResNet, named as `DlibResNet29`'s parameters (each
    convolution with the affine layer after it folded in), and each convolution's stride and padding."""
    data = path.read_bytes()
    convolutions, affines = [], []
    for match in re.finditer(re.escape(b"\x01\x05con_4"), data):
        reader = _Reader(data, match.end())
        params = reader.tensor()
        filters = reader.integer()
        _rows, _cols, stride, _stride_x, padding, _padding_x = (reader.integer() for _ in range(6))
        shape = reader.alias()
        size = int(np.prod(shape))
        if shape[0] != filters or len(params) != size + filters:
            raise ValueError(f"a convolution of an unexpected shape {shape}")
        convolutions.append((params[:size].reshape(shape), params[size:], stride, padding))
    for match in re.finditer(re.escape(b"\x01\x07affine_"), data):
        reader = _Reader(data, match.end())
        params = reader.tensor()
        channels = reader.alias()[1]
        affines.append((params[:channels], params[channels:]))
    fc = re.search(re.escape(b"\x01\x04fc_2"), data)
    expected = 1 + 2 * len(BLOCKS)
    if len(convolutions) != expected or len(affines) != expected or fc is None:
        raise ValueError(f"{len(convolutions)} convolutions, {expected} expected")
    reader = _Reader(data, fc.end())
    outputs, inputs = reader.integer(), reader.integer()
    weights = reader.tensor()
    if (outputs, inputs, len(weights)) != (EMBEDDING_DIM, BLOCKS[-1][0], EMBEDDING_DIM * BLOCKS[-1][0]):
        raise ValueError(f"a final layer of {inputs} -> {outputs}, not 256 -> 128")

    names = ["stem"] + [f"blocks.{b}.{conv}" for b in range(len(BLOCKS)) for conv in ("conv1", "conv2")]
    state = {"fc.weight": weights.reshape(inputs, outputs).T.copy()}
    for name, (kernel, bias, _, _), (gamma, beta) in zip(names, convolutions, affines):
        state[f"{name}.weight"] = kernel * gamma[:, None, None, None]
        state[f"{name}.bias"] = bias * gamma + beta
    return state, {name: (stride, padding) for name, (_, _, stride, padding) in zip(names, convolutions)}


class _Residual(nn.Module):
    """Two 3x3 convolutions and a shortcut; `down` halves the size (the shortcut average-pooled)."""

    def __init__(self, cin: int, cout: int, down: bool) -> None:
        super().__init__()
        self.down = down
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=2 if down else 1, padding=0 if down else 1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = F.avg_pool2d(x, 2) if self.down else x
        return F.relu(_add_padded(self.conv2(F.relu(self.conv1(x))), shortcut))


def _add_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a + b, the smaller zero-padded (channels, then bottom and right) to the larger: dlib's `add_prev`."""
    if a.shape == b.shape:
        return a + b
    channels, height, width = (max(a.shape[i], b.shape[i]) for i in (1, 2, 3))

    def pad(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, width - t.shape[3], 0, height - t.shape[2], 0, channels - t.shape[1]))
    return pad(a) + pad(b)


class DlibResNet29(nn.Module):
    """(N, 3, 150, 150) normalised RGB chips -> (N, 128) dlib face descriptors (not yet unit length)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 7, stride=2)
        cins = [32] + [channels for channels, _ in BLOCKS[:-1]]
        self.blocks = nn.Sequential(*[_Residual(cin, cout, down) for cin, (cout, down) in zip(cins, BLOCKS)])
        self.fc = nn.Linear(BLOCKS[-1][0], EMBEDDING_DIM, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.stem(x)), 3, stride=2)
        return self.fc(self.blocks(x).mean(dim=(2, 3)))


def load_dlib_resnet(path: Path) -> DlibResNet29:
    """The network with the weights of dlib's file; ValueError, naming the file, for any other file."""
    net = DlibResNet29()
    try:
        state, geometry = _read(Path(path))
        for name, conv in net.named_modules():
            if isinstance(conv, nn.Conv2d) and (conv.stride[0], conv.padding[0]) != geometry[name]:
                raise ValueError(f"convolution {name} has stride and padding {geometry[name]}")
    except (IndexError, ValueError) as error:
        raise ValueError(f"{path}: not dlib's face-recognition ResNet ({error})") from error
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    return net
