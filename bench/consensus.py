"""How long the collection check of `index` takes (`whosthat.collection.consensus`), by the number of faces.

    .venv/bin/python bench/consensus.py --model blackpink.wt --sizes 5000 20000 50000

The check is timed on random unit vectors of the model's dimension, a third of them named as a member (its
nearest-neighbour search compares every pair, whatever the vectors), and beside it the time the model takes to
name a one-face photo from its vector, which the check repeats for every photo of the index.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from typing import Optional

import numpy as np

import whosthat
from accuracy import markdown
from whosthat.collection.consensus import check_names
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.vision.extract import Subjects
from whosthat.vision.face import Face
from whosthat.vision.vectors import normalise

#: One-face photos named to time the naming.
NAMED = 300


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a model file of `whosthat train`")
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 20000], help="faces in the index")
    args = parser.parse_args(argv)
    model = whosthat.load(args.model)
    dim = model.reference.X.shape[1]
    rng = np.random.default_rng(0)
    load = os.getloadavg()[0]
    rows = []
    for n in args.sizes:
        vectors = normalise(rng.normal(size=(n, dim))).astype(np.float32)
        labels = np.full(n, UNKNOWN_LABEL, dtype=object)
        labels[::3] = model.classes[0]
        started = time.perf_counter()
        check_names(model, vectors, labels)
        checked = time.perf_counter() - started
        face = [Face(np.array([0, 0, 50, 50], np.float32), None, 0.9)]
        started = time.perf_counter()
        for i in range(NAMED):
            model.name_subjects(Subjects("photo", face, vectors[i:i + 1]))
        naming = (time.perf_counter() - started) / NAMED
        rows.append([n, f"{checked:.1f}", f"{naming * 1000:.2f}", f"{naming * n:.1f}"])
    print(markdown(["faces", "check s", "naming ms a photo", "naming s, one face a photo"], rows))
    print(f"\nload average at start and end: {load:.1f}, {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
