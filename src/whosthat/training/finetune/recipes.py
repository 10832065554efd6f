"""How each network is fine-tuned: optimiser, learning rate, epochs, patience (`Recipe`, by network name)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Recipe:
    """Settings of one fine-tuning run.

    optimizer: "adamw" or "sgd" (momentum 0.9); lr: peak learning rate, warmed up for one epoch
    then cosine-annealed; patience: epochs without a better validation loss before stopping;
    label_smoothing: cross-entropy smoothing (the classes are also weighted inversely to their size);
    ema_epochs: how many epochs an exponential moving average of the weights spans (its decay per
    step is 1 - 1 / (ema_epochs x steps per epoch)); validation judges it and it is what is kept
    (0: no average, the weights themselves).
    """

    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 15
    batch_size: int = 32
    patience: int = 4
    label_smoothing: float = 0.1
    ema_epochs: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, **changes: Any) -> Recipe:
        """A copy with the non-None `changes` applied (the CLI's --epochs and friends)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


#: The recipe of each network. The tutorial presets keep the notebooks' own choices. For the
#: backbones `epochs` is a cap and early stopping ends the run: at a cap of 12 the cap, not the
#: validation loss, ended both networks' runs on anime_newgame8 (EfficientNet-Lite0: 0.90 at
#: epoch 12; under a cap of 30, 0.79 at its best epoch, 17, and stopped at 21).
RECIPES = {
    "mobilenetv2": Recipe(optimizer="adamw", lr=5e-4, epochs=30, ema_epochs=4),
    "efficientnet-lite0": Recipe(optimizer="adamw", lr=5e-4, epochs=30, ema_epochs=4),
    "tutorial-mobilenetv2": Recipe(optimizer="adamw", lr=1e-3, epochs=15, weight_decay=0.0, label_smoothing=0.0),
    "tutorial-cnn": Recipe(optimizer="sgd", lr=0.01, epochs=40, patience=8, weight_decay=0.0, label_smoothing=0.0),
}
