"""How far the stranger score can go: the stranger test of `accuracy.py`, with the rates at the
threshold `train` calibrated and at thresholds chosen on the test photos themselves.

For each task of a set (every fold of kpop15) and each class held out in turn, whosthat is trained
without that class; the task's test photos are scored, the held-out class's as strangers, the
others as members. A photo's face is the one a model that knows every class names as the photo's
class, else the largest (some photos are group shots filed under one member). Each score is taken
relative to its model's calibrated threshold and the scores are pooled. "calibrated" is what
`train` chose; "chosen on the test photos" sets one offset for all the models so that 2, 3 or 5 %
of the test members fall below it: an oracle no user has, which tells whether the calibration or
the score itself limits the strangers named.

    .venv/bin/python bench/calibration.py --cache-dir /tmp/wt-bench
    .venv/bin/python bench/calibration.py --sets kpop15 --quick
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accuracy import DATASETS, SETS, Whosthat, build_benchmark, markdown, percent
from whosthat.models.model import Model
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION
from whosthat.training.folder import Item
from whosthat.vision.cache import EmbeddingCache

ORACLE_SHARES = (0.02, 0.03, 0.05)


@dataclass
class Margins:
    """Stranger scores less their model's threshold (>= 0: named), pooled over the held-out models."""

    members: list[float] = field(default_factory=list)
    strangers: list[float] = field(default_factory=list)

    def row(self, set_name: str, models: int) -> list[object]:
        members, strangers = np.asarray(self.members), np.asarray(self.strangers)
        cells: list[object] = [set_name, models, len(members), len(strangers),
                               percent(float((members < 0).mean())), percent(float((strangers >= 0).mean()))]
        for share in ORACLE_SHARES:
            offset = np.quantile(members, share)
            cells.append(percent(float((strangers >= offset).mean())))
        return cells


def scored_faces(model: Model, cache_dir: Path, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
    """The embedding of each photo's face, the one `model` names as the photo's class, else the largest,
    and the photos' labels (photos without a face are left out)."""
    cache = EmbeddingCache(cache_dir)
    try:
        found = list(model.extract_paths([i.path for i in items], cache=cache))
    finally:
        cache.close()
    rows, labels = [], []
    for item, subjects in zip(items, found):
        if subjects.error is not None or not subjects.faces:
            continue
        names = model.name_subjects(subjects).labels  # largest face first
        order = np.argsort([-f.area for f in subjects.faces], kind="stable")
        rows.append(subjects.embeddings[order[names.index(item.label) if item.label in names else 0]])
        labels.append(item.label)
    return np.array(rows), np.array(labels)


def measure(set_name: str, datasets: Path, method: Whosthat, quick: bool) -> list[object]:
    """The pooled margins of every (task, held-out class) of a set, as one table row."""
    benchmark = build_benchmark(set_name, datasets, quick)
    pooled = Margins()
    models = 0
    for number, task in enumerate(benchmark.tasks, 1):
        embeddings, labels = scored_faces(method.run(task)[0], method.cache_dir, task.test_items())
        for label in benchmark.held_out:
            model = method.run(task.without(label))[0]
            models += 1
            evidence = model.evidence(embeddings)
            best = evidence.probabilities.argmax(axis=1)
            margins = evidence.stranger[np.arange(len(best)), best] - model.threshold
            pooled.members += margins[labels != label].tolist()
            pooled.strangers += margins[labels == label].tolist()
        print(f"{set_name}: task {number} of {len(benchmark.tasks)} done", flush=True)
    return pooled.row(set_name, models)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", choices=SETS, default=["blackpink", "kpop15"])
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"default: {DATASETS}")
    parser.add_argument("--embedder", default="facenet+dlib")
    parser.add_argument("--head", default="logistic")
    parser.add_argument("--max-member-rejection", type=float, default=DEFAULT_MAX_MEMBER_REJECTION)
    parser.add_argument("--cache-dir", type=Path,
                        help="keep the embedding caches here (default: a temporary directory)")
    parser.add_argument("--quick", action="store_true", help="fewer photos, folds and held-out classes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cache_root = args.cache_dir or Path(scratch)
        rows = [measure(s, args.datasets, Whosthat(args.embedder, args.head, cache_root / f"{s}-{args.embedder}",
                                    max_member_rejection=args.max_member_rejection), args.quick)
                for s in args.sets]
    header = ["set", "held-out models", "member photos", "stranger photos", "members rejected, calibrated",
              "strangers accepted, calibrated"] + [
        f"strangers accepted at {share:.0%} members rejected, chosen on the test photos" for share in ORACLE_SHARES]
    print(markdown(header, rows))


if __name__ == "__main__":
    main()
