"""Backbones, fine-tuning, the tutorials' models and the best ensemble, on every shared set.

For each set and method: test accuracy (largest subject of each test photo named right) and
top-1 (its most probable name right, the stranger threshold aside: the tutorials' measure), the
seconds `train` took with an empty cache (detection, embedding or fine-tuning, fitting, stranger
calibration; the test predictions not counted) and the median milliseconds of one
`Model.predict` on a test photo (the first call not counted).

Methods: the default (`--subject auto`), the two ImageNet backbones frozen (and the pair, which
is the default for pictures), each fine-tuned end to end (`--finetune`), the tutorials' two
models as presets (`--finetune tutorial-cnn`, `tutorial-mobilenetv2`), and the best ensemble of
the models trained (two or more): the combination whose averaged probabilities name the validation
photos best, as `whosthat ensemble --best` chooses it; the test photos play no part in the choice.
On face sets the backbones see the faces YuNet finds (`--detector yunet`). On anime_newgame8's
crops the fine-tuned backbones see what `--subject auto` chooses, as `train --finetune` does
for a user, and the tutorials' presets the whole crop, as the notebooks did.

Splits: anime_newgame8 train -> test (15 % of train for validation); anime_illustrations: the
same training crops (screenshots of the show) -> anime_newgame8/illustrations (120 full fan-art
scenes by many artists: another style, the face found by the `character` detector, which the
backbones use too); celebrity5 train -> val;
blackpink/photos whosthat's default split (seed 0); kpop15/train the first of bench/accuracy.py's
5 stratified folds (`--folds 5` for all of them; fine-tuning is slow on a CPU).

    .venv/bin/python bench/backbones.py                          # every set, every method
    .venv/bin/python bench/backbones.py --set anime_newgame8 --json results.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from accuracy import DATASETS, SEED, Task, kfold_splits, markdown, train_split
from whosthat.models.ensemble import Ensemble
from whosthat.models.model import Model
from whosthat.training import TrainingLog, train
from whosthat.training.ensembles import rank_combinations
from whosthat.training.evaluate import Evaluation, score_predictions
from whosthat.training.folder import Item, scan

SETS = ("anime_newgame8", "anime_illustrations", "celebrity5", "blackpink", "kpop15")
FACE_SETS = ("celebrity5", "blackpink", "kpop15")
TIMED_PHOTOS = 11


@dataclass(frozen=True)
class Method:
    """A way to train: keywords for `whosthat.train` (the detector is added for face sets)."""

    name: str
    options: dict = field(default_factory=dict)
    backbone: bool = True


METHODS = (
    Method("default (--subject auto)", {}, backbone=False),
    Method("frozen mobilenetv2", {"embedder": "mobilenetv2"}),
    Method("frozen efficientnet-lite0", {"embedder": "efficientnet-lite0"}),
    Method("frozen pair", {"embedder": "mobilenetv2+efficientnet-lite0"}),
    Method("fine-tuned mobilenetv2", {"finetune": "mobilenetv2"}),
    Method("fine-tuned efficientnet-lite0", {"finetune": "efficientnet-lite0"}),
    Method("tutorial-cnn preset", {"finetune": "tutorial-cnn"}),
    Method("tutorial-mobilenetv2 preset", {"finetune": "tutorial-mobilenetv2"}),
)


@dataclass
class Row:
    set: str
    method: str
    accuracy: float
    top1: float
    train_s: Optional[float]
    ms_per_image: float
    runs: int


def tasks_of(name: str, folds: int) -> list[Task]:
    """The train/test tasks of a set (see the module docstring)."""
    if name in ("anime_newgame8", "anime_illustrations"):
        collection = scan(DATASETS / "anime_newgame8/train")
        split = train_split(collection, test_fraction=0.0)
        test = "test" if name == "anime_newgame8" else "illustrations"
        return [Task(collection.root, split, DATASETS / "anime_newgame8" / test)]
    if name == "celebrity5":
        collection = scan(DATASETS / "celebrity5/train")
        return [Task(collection.root, train_split(collection, test_fraction=0.0), DATASETS / "celebrity5/val")]
    if name == "blackpink":
        collection = scan(DATASETS / "blackpink/photos")
        return [Task(collection.root, train_split(collection))]
    if name == "kpop15":
        collection = scan(DATASETS / "kpop15/train")
        return [Task(collection.root, s) for s in kfold_splits(collection, 5, SEED)[:folds]]
    raise ValueError(f"unknown set {name!r}; choose from {', '.join(SETS)}")


def options_for(method: Method, set_name: str) -> dict:
    """The method's keywords, with YuNet's faces as the subject on the face sets, drawn faces on
    the illustrations, and on anime_newgame8's crops the whole picture for the tutorials' presets,
    as the notebooks had it. Elsewhere `train` decides, as for a user: a fine-tuned backbone takes
    `--subject auto`'s choice, a frozen one named by `--embedder` the whole picture."""
    if set_name in FACE_SETS and method.backbone:
        return {"detector": "yunet", **method.options}
    if set_name == "anime_illustrations" and method.backbone:
        return {"subject": "character", **method.options}
    if method.options.get("finetune", "").startswith("tutorial-"):
        return {"subject": "image", **method.options}
    return dict(method.options)


def median_ms(model: Model, photos: Sequence[Path]) -> float:
    """Median milliseconds of `model.predict` per photo, the first call not counted."""
    model.predict(photos[0])
    times = []
    for photo in photos[1:]:
        started = time.perf_counter()
        model.predict(photo)
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def evaluate_task(model: Model, task: Task) -> Evaluation:
    """`model` scored on the task's test photos (for the ensemble, which is not trained)."""
    items: list[Item] = task.test_items()
    truth = [model.classes.index(i.label) if i.label in model.classes else -1 for i in items]
    results = model.extract_paths([i.path for i in items])
    return score_predictions(model.classes, [i.path for i in items], truth,
                             [model.name_subjects(s) for s in results])


def run_set(set_name: str, folds: int, methods: Sequence[Method], out: Path) -> list[Row]:
    tasks = tasks_of(set_name, folds)
    photos = [i.path for i in tasks[0].test_items()][:TIMED_PHOTOS]
    rows, models = [], {}
    for method in methods:
        accuracies, top1, seconds = [], [], []
        for k, task in enumerate(tasks):
            log = TrainingLog()
            with tempfile.TemporaryDirectory() as cache:
                model = train(task.folder, split=task.split, test_dir=task.test_dir, cache_dir=cache, log=log,
                              out=out / f"{set_name}-{method.name.replace(' ', '_')}-{k}.wt",
                              **options_for(method, set_name))
            accuracies.append(log.evaluation.accuracy)
            top1.append(log.evaluation.top1_accuracy)
            seconds.append(log.seconds["embedding"] + log.seconds["fit"])
            if k == 0:
                models[method.name] = model
        row = Row(set_name, method.name, float(np.mean(accuracies)), float(np.mean(top1)), float(np.mean(seconds)),
                  median_ms(models[method.name], photos), len(tasks))
        print(f"  {row.method}: {row.accuracy:.1%} (top-1 {row.top1:.1%}), {row.train_s:.0f} s, "
              f"{row.ms_per_image:.0f} ms", flush=True)
        rows.append(row)
    if len(models) >= 2:
        names = list(models)
        best = rank_combinations([models[n] for n in names])[0]
        ensemble = Ensemble([models[names[k]] for k in best.members])
        scored = evaluate_task(ensemble, tasks[0])
        row = Row(set_name, "best ensemble: " + " + ".join(names[k] for k in best.members)
                  + f" (validation {best.accuracy:.1%})", scored.accuracy, scored.top1_accuracy, None,
                  median_ms(ensemble, photos), 1)
        print(f"  {row.method}: {row.accuracy:.1%} (top-1 {row.top1:.1%}), {row.ms_per_image:.0f} ms", flush=True)
        rows.append(row)
    return rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", action="append", choices=SETS, help="a set to run (default: all)")
    parser.add_argument("--method", action="append", choices=[m.name for m in METHODS],
                        help="a method to run (default: all)")
    parser.add_argument("--folds", type=int, default=1, help="kpop15 folds to average (default: 1)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    methods = [m for m in METHODS if not args.method or m.name in args.method]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{'CUDA ' + torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU only'}", flush=True)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as out:
        for set_name in args.set or SETS:
            print(f"{set_name}:", flush=True)
            rows += run_set(set_name, args.folds, methods, Path(out))
    print()
    print(markdown(["set", "method", "accuracy", "top-1", "train s (cold)", "ms per image", "runs"],
                   [[r.set, r.method, f"{r.accuracy:.1%}", f"{r.top1:.1%}",
                     None if r.train_s is None else f"{r.train_s:.0f}", f"{r.ms_per_image:.0f}", r.runs]
                    for r in rows]))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))


if __name__ == "__main__":
    main()
