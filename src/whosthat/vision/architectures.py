"""The two ImageNet architectures, written out in plain PyTorch: MobileNetV2 and EfficientNet-Lite0.

They carry the parameter names of torchvision's `mobilenet_v2().features` and of timm's
`tf_efficientnet_lite0`, so the pinned weight files (and fine-tuned models saved before) load
by name, without installing torchvision or timm (whose wheels bring PyTorch's 5 GB CUDA build).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def _conv_bn_act(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """torchvision's Conv2dNormActivation: convolution, batch norm, ReLU6 (names `0`, `1`, `2`)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))


class _InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion, depthwise 3x3, linear 1x1 projection, residual when shapes allow."""

    def __init__(self, c_in: int, c_out: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = c_in * expand
        layers: list[nn.Module] = [_conv_bn_act(c_in, hidden, 1)] if expand != 1 else []
        layers += [_conv_bn_act(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.conv = nn.Sequential(*layers)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


def mobilenet_v2_features() -> nn.Sequential:
    """MobileNetV2 (width 1.0) up to its 1280-channel 7x7 map, laid out as torchvision's `features`."""
    layers: list[nn.Module] = [_conv_bn_act(3, 32, 3, 2)]
    c_in = 32
    for expand, c_out, repeats, stride in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                           (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(repeats):
            layers.append(_InvertedResidual(c_in, c_out, stride if i == 0 else 1, expand))
            c_in = c_out
    layers.append(_conv_bn_act(c_in, 1280, 1))
    return nn.Sequential(*layers)


class _Conv2dSame(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (more on the bottom and right when uneven), as the
    TensorFlow-trained EfficientNet-Lite weights expect at stride 2."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return F.conv2d(F.pad(x, pads), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _tf_conv(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    if stride == 1:
        return nn.Conv2d(c_in, c_out, kernel, 1, (kernel - 1) // 2, groups=groups, bias=False)
    return _Conv2dSame(c_in, c_out, kernel, stride, groups=groups, bias=False)


class _BatchNormAct(nn.BatchNorm2d):
    """Batch norm (TensorFlow's epsilon) followed by ReLU6 or nothing, as timm's BatchNormAct2d."""

    def __init__(self, channels: int, act: bool = True) -> None:
        super().__init__(channels, eps=1e-3)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class _DepthwiseSeparable(nn.Module):
    """EfficientNet's first block: depthwise 3x3, then a linear 1x1 projection."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_dw = _tf_conv(c_in, c_in, 3, groups=c_in)
        self.bn1 = _BatchNormAct(c_in)
        self.conv_pw = _tf_conv(c_in, c_out, 1)
        self.bn2 = _BatchNormAct(c_out, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv_pw(self.bn1(self.conv_dw(x))))


class _MBConv(nn.Module):
    """EfficientNet-Lite's inverted residual: 1x1 expansion x6, depthwise k x k, linear 1x1, no squeeze-excite."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        hidden = c_in * 6
        self.conv_pw = _tf_conv(c_in, hidden, 1)
        self.bn1 = _BatchNormAct(hidden)
        self.conv_dw = _tf_conv(hidden, hidden, kernel, stride, groups=hidden)
        self.bn2 = _BatchNormAct(hidden)
        self.conv_pwl = _tf_conv(hidden, c_out, 1)
        self.bn3 = _BatchNormAct(c_out, act=False)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn3(self.conv_pwl(self.bn2(self.conv_dw(self.bn1(self.conv_pw(x))))))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 to its average-pooled 1280-d features; `blocks` holds the seven stages."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_stem = _tf_conv(3, 32, 3, 2)
        self.bn1 = _BatchNormAct(32)
        stages: list[nn.Module] = [nn.Sequential(_DepthwiseSeparable(32, 16))]
        c_in = 16
        for c_out, kernel, repeats, stride in ((24, 3, 2, 2), (40, 5, 2, 2), (80, 3, 3, 2), (112, 5, 3, 1),
                                               (192, 5, 4, 2), (320, 3, 1, 1)):
            blocks = []
            for i in range(repeats):
                blocks.append(_MBConv(c_in, c_out, kernel, stride if i == 0 else 1))
                c_in = c_out
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)
        self.conv_head = _tf_conv(c_in, 1280, 1)
        self.bn2 = _BatchNormAct(1280)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn2(self.conv_head(self.blocks(self.bn1(self.conv_stem(x)))))
        return x.mean(dim=(2, 3))
