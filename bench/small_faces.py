"""Small faces in large photos: how many YuNet finds, how long it takes and how much memory it needs.

A crowd is composed from the shared sets' own photos: the head and shoulders of every blackpink
and celebrity5 photo with exactly one face, scaled so that the face is W pixels wide, pasted
60 times in a grid on a blurred background of the photo size of a phone (4032x3024) or a camera
(6000x4000). Three ways of searching it:
- `first pass only`: the whole image scaled to 1600 px (whosthat before the fine pass);
- `one piece at 4096`: the whole image at up to 4096 px in one call;
- `default`: the first pass, then the fine pass in 1024 px tiles at up to 4096 px for the faces
  too small for it.
A face counts as found when a box overlaps it by IoU 0.3; `other` counts the remaining boxes.
Each way runs in a fresh process, so `extra MB` is its own peak resident memory over the
process's before the first detection.

    .venv/bin/python bench/small_faces.py
    .venv/bin/python bench/small_faces.py --sizes 20 32 --repeats 5
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np

from accuracy import DATASETS, markdown
from whosthat.vision.detectors import create_detector
from whosthat.vision.images import load_image

PHOTO_SIZES = ((4032, 3024), (6000, 4000))
WAYS = {"first pass only": {"fine_side": None}, "one piece at 4096": {"max_side": 4096, "fine_side": None},
        "default": {}}
GRID = (10, 6)


@lru_cache(maxsize=1)
def heads(datasets: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(crop, face box in the crop) of every blackpink and celebrity5 photo with exactly one face."""
    finder = create_detector("yunet", max_side=4096, fine_side=None)
    photos = sorted((datasets / "celebrity5" / "val").rglob("*.jpg"))
    photos += sorted((datasets / "blackpink" / "photos").rglob("*.jpg"))
    out = []
    for path in photos[:80]:
        image = load_image(path)
        faces = finder.detect(image)
        if len(faces) != 1:
            continue
        x1, y1, x2, y2 = faces[0].box
        reach = 1.6 * (x2 - x1)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        left, top = int(max(0, cx - reach)), int(max(0, cy - reach))
        right, bottom = int(min(image.shape[1], cx + reach)), int(min(image.shape[0], cy + reach))
        out.append((image[top:bottom, left:right], np.array([x1 - left, y1 - top, x2 - left, y2 - top])))
    return out


def crowd(datasets: Path, width: int, height: int, face: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """A (height, width) photo of 60 faces `face` pixels wide, and their boxes."""
    people = heads(datasets)
    background = cv2.GaussianBlur(cv2.resize(load_image(datasets / "blackpink" / "unlabeled" / "blackpink.jpg"),
                                             (width, height)), (0, 0), 25)
    rng = np.random.default_rng(0)
    columns, rows = GRID
    boxes = []
    for k in range(columns * rows):
        crop, box = people[k % len(people)]
        scale = face / (box[2] - box[0])
        small = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        x = int((k % columns + 0.5) * width / columns - small.shape[1] / 2 + rng.integers(-20, 20))
        y = int((k // columns + 0.5) * height / rows - small.shape[0] / 2)
        x, y = max(0, min(width - small.shape[1], x)), max(0, min(height - small.shape[0], y))
        background[y:y + small.shape[0], x:x + small.shape[1]] = small
        boxes.append(box * scale + [x, y, x, y])
    return background, boxes


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    both = width * height
    return both / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - both)


def measure(datasets: Path, way: str, sizes: list[int], repeats: int) -> list[list[object]]:
    """Rows for one way of searching, every photo size and face size (runs in its own process)."""
    detector = create_detector("yunet", **WAYS[way])
    photos = [(w, h, face, *crowd(datasets, w, h, face)) for w, h in PHOTO_SIZES for face in sizes]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rows = []
    for width, height, face, image, boxes in photos:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            faces = detector.detect(image)
            times.append(1000 * (time.perf_counter() - started))
        found = sum(any(_iou(f.box, box) > 0.3 for f in faces) for box in boxes)
        other = sum(not any(_iou(f.box, box) > 0.3 for box in boxes) for f in faces)
        rows.append([f"{width}x{height}", way, face, f"{found}/{len(boxes)}", other, round(statistics.median(times))])
    extra = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return [row + [round(extra)] for row in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 20, 24, 32, 48], help="face widths in pixels")
    parser.add_argument("--repeats", type=int, default=3, help="detections per photo (the median is shown)")
    args = parser.parse_args()
    rows = []
    for way in WAYS:
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            rows += pool.submit(measure, args.datasets, way, args.sizes, args.repeats).result()
    rows.sort(key=lambda row: (row[0], row[2]))
    print(markdown(["photo", "search", "face px", "found", "other", "ms", "extra MB"], rows))


if __name__ == "__main__":
    main()
