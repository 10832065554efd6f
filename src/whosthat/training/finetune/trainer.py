"""End-to-end training of a `whosthat.vision.networks` network on chips: augmentation, class-balanced loss,
warm-up + cosine schedule, a moving average of the weights, early stopping on validation loss, a
checkpoint every epoch and `resume`."""

from __future__ import annotations

import copy
import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, TypedDict, cast

import numpy as np
import torch
from torch import nn
from torch.optim import swa_utils
from torch.utils.data import DataLoader

from whosthat.core.errors import WhosthatError
from whosthat.models.records import EpochStats, FinetuneLog
from whosthat.training.finetune.augment import ChipDataset, augmentation, plain, to_unit
from whosthat.training.finetune.recipes import RECIPES, Recipe
from whosthat.vision.networks import Network, create_network


@dataclass
class FinetuneResult:
    """The best epoch's weights (as arrays, for the model file) and what happened on the way."""

    state: dict[str, np.ndarray]
    history: list[EpochStats]
    best_epoch: int
    stopped_early: bool
    device: str
    architecture: str
    recipe: Recipe
    resumed_from: int = 0

    def log(self) -> FinetuneLog:
        """The record kept in the model file (the report plots `history`)."""
        return FinetuneLog(self.architecture, self.recipe.as_dict(), tuple(self.history), self.best_epoch,
                           self.stopped_early, self.device, self.resumed_from)


class _Best(TypedDict):
    """The best epoch so far: its validation loss, number and weights (None before the first epoch)."""

    loss: float
    epoch: int
    state: Optional[dict[str, torch.Tensor]]


def default_workers() -> int:
    """DataLoader workers: none on a two-core machine (they would slow the training itself), else up to 4."""
    cores = os.cpu_count() or 1
    return 0 if cores <= 2 else min(4, cores // 2)


def finetune(architecture: str, chips_train: np.ndarray, y_train: np.ndarray, chips_val: np.ndarray,
             y_val: np.ndarray, n_classes: int, *, recipe: Optional[Recipe] = None, seed: int = 0,
             checkpoint: Optional[Path] = None, resume: bool = False, workers: Optional[int] = None,
             device: Optional[str] = None, log: Callable[[str], None] = print) -> FinetuneResult:
    """Train `architecture` on (size, size, 3) uint8 chips and return the weights of its best validation epoch.

    A checkpoint is written (atomically) after every epoch when `checkpoint` is given; with
    `resume` an existing one for the same data and settings is continued instead of starting
    over. On a CUDA GPU training runs in mixed precision; on the CPU it says so, loudly.
    """
    recipe = recipe or RECIPES[architecture]
    torch.manual_seed(seed)
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if target.type != "cuda":
        log("warning: no CUDA GPU found: fine-tuning runs on the CPU, which is slow (minutes per run)")
    # Channels-last (NHWC) layout: a training step of MobileNetV2 or EfficientNet-Lite0 on the CPU takes
    # less than half the time it takes in the default layout (bench/speed.py measures the forward pass).
    # Module.to takes memory_format (its docstring says so) but torch's overloads leave it out.
    net = create_network(architecture, n_classes=n_classes).to(target, memory_format=torch.channels_last)  # type: ignore[call-overload]
    trainable = net.trainable_parameters()
    for parameter in net.parameters():
        parameter.requires_grad_(any(parameter is t for t in trainable))

    train_set, val_set = ChipDataset(chips_train, y_train), ChipDataset(chips_val, y_val)
    augment, normalise = augmentation(net.spec).to(target), plain(net.spec).to(target)
    workers = default_workers() if workers is None else workers
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train_set, batch_size=recipe.batch_size, shuffle=True, generator=generator,
                              num_workers=workers, persistent_workers=workers > 0,
                              drop_last=len(train_set) > recipe.batch_size)
    val_loader = DataLoader(val_set, batch_size=recipe.batch_size * 2, num_workers=0)

    counts = np.bincount(y_train, minlength=n_classes).astype(np.float64)
    weights = torch.tensor(len(y_train) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32, device=target)
    loss_fn = nn.CrossEntropyLoss(weight=weights, label_smoothing=recipe.label_smoothing)
    optimizer = (torch.optim.SGD(trainable, lr=recipe.lr, momentum=0.9, weight_decay=recipe.weight_decay)
                 if recipe.optimizer == "sgd"
                 else torch.optim.AdamW(trainable, lr=recipe.lr, weight_decay=recipe.weight_decay))
    steps = max(1, len(train_loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(steps, recipe.epochs * steps))
    scaler = torch.amp.GradScaler("cuda", enabled=target.type == "cuda")
    # The moving average of the weights is what validation judges and what is kept: its validation
    # loss moves smoothly, so early stopping on a few dozen validation photos picks a steadier epoch.
    decay = 1 - 1 / (recipe.ema_epochs * steps) if recipe.ema_epochs else 0.0
    ema = (swa_utils.AveragedModel(net, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay), use_buffers=True)
           if decay > 0 else None)

    fingerprint = _fingerprint(architecture, recipe, seed, chips_train, y_train, chips_val, y_val)
    history: list[EpochStats] = []
    best: _Best = {"loss": math.inf, "epoch": 0, "state": None}
    start, bad_epochs = 1, 0
    if resume and checkpoint is not None and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=target, weights_only=True)
        if saved.get("fingerprint") != fingerprint:
            raise WhosthatError(f"{checkpoint}: this checkpoint is of another run (other photos or settings); "
                                "delete it or train without --resume")
        net.load_state_dict(saved["model"])
        if ema is not None:
            ema.load_state_dict(saved["ema"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        history = [EpochStats(**e) for e in saved["history"]]
        best = {"loss": saved["best_loss"], "epoch": saved["best_epoch"], "state": saved["best_state"]}
        start, bad_epochs = saved["epoch"] + 1, saved["bad_epochs"]
        torch.set_rng_state(saved["rng"])
        generator.set_state(saved["loader_rng"])
        log(f"resuming from {checkpoint} after epoch {saved['epoch']}")
    elif checkpoint is not None and checkpoint.is_file():
        log(f"note: starting over; the earlier checkpoint {checkpoint} is replaced (--resume continues one)")
    elif resume:
        log(f"note: no checkpoint to resume{f' at {checkpoint}' if checkpoint else ''}: starting from the first epoch")
    resumed_from = start - 1

    stopped_early = False
    for epoch in range(start, recipe.epochs + 1):
        if bad_epochs >= recipe.patience:
            stopped_early = True
            break
        began = time.perf_counter()
        train_loss, train_accuracy = _run_epoch(net, train_loader, augment, loss_fn, target, optimizer, scheduler,
                                                 scaler, ema)
        # AveragedModel keeps a deep copy of `net` (a Network); its stubs type that copy as a plain Module.
        judged = cast(Network, ema.module) if ema is not None else net
        with torch.inference_mode():
            val_loss, val_accuracy = (_run_epoch(judged, val_loader, normalise, loss_fn, target) if len(val_set)
                                      else (train_loss, train_accuracy))
        stats = EpochStats(epoch, train_loss, train_accuracy, val_loss, val_accuracy,
                           float(scheduler.get_last_lr()[0]), time.perf_counter() - began)
        history.append(stats)
        if val_loss < best["loss"]:
            best = {"loss": val_loss, "epoch": epoch, "state": copy.deepcopy(judged.state_dict())}
            bad_epochs = 0
        else:
            bad_epochs += 1
        log(f"epoch {epoch}/{recipe.epochs}: train loss {train_loss:.3f} accuracy {train_accuracy:.1%}, "
            f"validation loss {val_loss:.3f} accuracy {val_accuracy:.1%} "
            f"({stats.seconds:.1f} s, {(len(train_set) + len(val_set)) / stats.seconds:.0f} images/s)")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, {
                "fingerprint": fingerprint, "epoch": epoch, "model": net.state_dict(),
                "ema": ema.state_dict() if ema is not None else None,
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "history": [asdict(e) for e in history], "best_loss": best["loss"],
                "best_epoch": best["epoch"], "best_state": best["state"], "bad_epochs": bad_epochs,
                "rng": torch.get_rng_state(), "loader_rng": generator.get_state()})
    else:
        stopped_early = bad_epochs >= recipe.patience and len(history) < recipe.epochs
    if best["state"] is not None:
        why = (f"stopped early, no better validation loss in {recipe.patience} epochs" if stopped_early
               else f"all {recipe.epochs} epochs run")
        log(f"kept epoch {best['epoch']}, validation loss {best['loss']:.3f} ({why})")
    state = best["state"] if best["state"] is not None else net.state_dict()
    arrays = {k: v.detach().float().cpu().numpy() if v.is_floating_point() else v.detach().cpu().numpy()
              for k, v in state.items()}
    return FinetuneResult(arrays, history, int(best["epoch"]), stopped_early, str(target), architecture, recipe,
                          resumed_from)


def _run_epoch(net: Network, loader: DataLoader, transform: nn.Module, loss_fn: nn.Module, device: torch.device,
               optimizer: Optional[torch.optim.Optimizer] = None,
               scheduler: Optional[torch.optim.lr_scheduler.LRScheduler] = None,
               scaler: Optional[torch.amp.GradScaler] = None,
               ema: Optional[swa_utils.AveragedModel] = None) -> tuple[float, float]:
    """One pass over `loader`, each batch `transform`ed on the device: training when an optimizer is given,
    else evaluation. (mean loss, accuracy)."""
    training = optimizer is not None
    net.train(training)
    if training:
        for name, module in net.named_modules():
            if name and (name + ".").startswith(net.frozen):
                module.eval()
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images = transform(to_unit(images.to(device, non_blocking=True))).contiguous(memory_format=torch.channels_last)
        labels = labels.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
            logits = net(images)
            loss = loss_fn(logits, labels)
        if optimizer is not None:
            if scheduler is None or scaler is None:
                raise ValueError("training needs a learning-rate scheduler and a gradient scaler with its optimizer")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(net)
        total_loss += loss.item() * len(labels)
        correct += int((logits.argmax(1) == labels).sum())
        seen += len(labels)
    return total_loss / max(seen, 1), correct / max(seen, 1)


def _warmup_cosine(warmup: int, total: int) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up over `warmup` steps, then cosine down to zero at `total`."""
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _fingerprint(architecture: str, recipe: Recipe, seed: int, *arrays: np.ndarray) -> str:
    """What a checkpoint must match to be resumed: the network, the recipe, the seed and the data."""
    digest = hashlib.sha256(f"{architecture}|{sorted(recipe.as_dict().items())}|{seed}".encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _save_checkpoint(path: Path, payload: dict) -> None:
    """Write the checkpoint next to its final name, then rename it into place (a kill leaves the last good one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    os.replace(partial, path)
