"""How fast each command is end to end, this tree beside another revision, in one run: `train` cold and warm,
`predict` of one photo from a cold start and of many, `index` of a collection, and a 1080p video.

Each measurement runs in a new process with the package of one tree on its path (`--baseline REV`: a git
worktree of REV, made under /tmp and removed at the end), the trees in turn, so that the machine's load falls on
both alike. Each tree has its own cache folder (`WHOSTHAT_CACHE_DIR`); "cold" means an empty embedding cache,
with what whosthat keeps once per machine (converted and exported networks) already made by a first `predict`,
whose time is printed apart. One model (`--model`, or one this tree trains) predicts, indexes and analyses the
video for every tree.

- train: `whosthat train` on blackpink/photos (its default split, which holds out test photos), the command's
  wall time with start-up; cold, then the same again (warm: every face from the cache).
- predict: `whosthat predict MODEL PHOTO` on one test photo (cold start: the whole command), and on all the
  test photos; a warm photo is (all - one) / (photos - 1).
- index: `build_index` of `--photos` photos of the collection that bench/collection_index.py makes, no cache, the
  index's own timing (no start-up); the two indexes' faces are compared: the same faces and names, and the
  largest difference between their vectors and boxes.
- video: `analyse` and `name_tracks` of bench/video.py's 1080p clip (40 s at 30 fps) at every 15th frame.

    .venv/bin/python bench/commands.py --baseline 93b68ca
    .venv/bin/python bench/commands.py --baseline 93b68ca --only index --photos 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np

from revisions import source_trees

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
PHOTOS = DATASETS / "blackpink" / "photos"
TASKS = ("train", "predict", "index", "video")
EVERY = 15


def run_python(src: Path, cache: Path, code: str, *args: str) -> dict[str, Any]:
    """Run `code` in a new Python with the package at `src`; it prints one JSON line, returned."""
    environment = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT / 'bench'}", "WHOSTHAT_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", code, *args], env=environment, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{src}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def command_seconds(src: Path, cache: Path, *argv: str) -> float:
    """Wall seconds of `python -m whosthat.cli ARGV` with the package at `src`."""
    environment = {**os.environ, "PYTHONPATH": str(src), "WHOSTHAT_CACHE_DIR": str(cache)}
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "whosthat.cli", *argv], env=environment, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


INDEX = """
import json, shutil, sys, time
from pathlib import Path
import whosthat
from whosthat.collection.indexer import build_index
model, collection, index = whosthat.load(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
shutil.rmtree(index, ignore_errors=True)
began = time.perf_counter()
report = build_index(model, collection, index, check=False)
print(json.dumps({"seconds": time.perf_counter() - began, "photos": report.photos, "faces": report.faces}))
"""

VIDEO = """
import json, sys
import whosthat
from video import speed
(analysis, names), row = speed(whosthat.load(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
print(json.dumps({"seconds": float(row[2]), "real_time": float(row[4].rstrip("x")), "tracks": len(analysis.tracks)}))
"""


def index_rows(index: Path) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """(photo:face keys, vectors, names, boxes) of an index's faces, in key order."""
    import lancedb

    table = lancedb.connect(index).open_table("faces").to_arrow()
    keys = [f"{h}:{f}" for h, f in zip(table["content_hash"].to_pylist(), table["face"].to_pylist())]
    order = np.argsort(keys)
    vectors = table["vector"].combine_chunks().flatten().to_numpy().reshape(len(keys), -1)[order]
    boxes = table["box"].combine_chunks().flatten().to_numpy().reshape(len(keys), -1)[order]
    labels = table["label"].to_pylist()
    return [keys[i] for i in order], vectors, [labels[i] for i in order], boxes


def compare_indexes(first: Path, second: Path) -> str:
    """How the faces of two indexes of the same photos differ."""
    a, b = index_rows(first), index_rows(second)
    if a[0] != b[0]:
        return f"different faces: {len(a[0])} and {len(b[0])}, {len(set(a[0]) ^ set(b[0]))} not in both"
    vectors = np.abs(a[1] - b[1]).max(axis=1)
    names = sum(x != y for x, y in zip(a[2], b[2]))
    return (f"the same {len(a[0])} faces; {names} names differ; boxes within {np.abs(a[3] - b[3]).max():.1e} px; "
            f"vectors within {vectors.max():.1e} ({int((vectors > 1e-4).sum())} faces over 1e-4)")


def test_photos(model: Path) -> list[Path]:
    """The photos the model's split held out for testing."""
    import whosthat

    record = whosthat.load(model).training.split
    return [Path(record.root) / p for p in record.split.test]


def make_clip(model: Path, clip: Path) -> None:
    """bench/video.py's clip, from the test photos of `model`."""
    import whosthat
    from video import make_clip as write_clip
    from video import shots, single_face_photos

    loaded = whosthat.load(model)
    write_clip(clip, shots(single_face_photos(loaded, PHOTOS, loaded.training.split.split.test)))


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", metavar="REV", help="a git revision to run beside this tree")
    parser.add_argument("--only", nargs="+", choices=TASKS, default=list(TASKS), help="the measurements to run")
    parser.add_argument("--photos", type=int, default=1000, help="photos indexed (default 1000)")
    parser.add_argument("--collection", type=Path, default=Path("/tmp/wt-collection"),
                        help="where bench/collection_index.py's collection is made or found")
    parser.add_argument("--model", type=Path, help="the model to predict, index and analyse the video with "
                        "(default: trained by this tree on blackpink/photos)")
    parser.add_argument("--scratch", type=Path, help="a folder to keep the models, caches and clip in (reused)")
    args = parser.parse_args(argv)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="whosthat-commands-") as temporary, source_trees(args.baseline) as trees:
        rows = measure(trees, args.scratch or Path(temporary), args)
    names = list(trees)
    print(f"\n| measurement | {' | '.join(names)} | ratio |")
    print(f"| --- | {' | '.join('---:' for _ in names)} | ---: |")
    for label, values, better in rows:
        ratio = ""
        if len(values) == 2 and values[0] and values[1]:
            ratio = f"{(values[0] / values[1]) if better == 'lower' else (values[1] / values[0]):.2f}x"
        print(f"| {label} | {' | '.join(format(v) for v in values)} | {ratio} |")
    print(f"\nwall time {time.perf_counter() - started:.0f} s; load average {load_start:.1f} at the start, "
          f"{os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} CPUs")


def format(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def measure(trees: dict[str, Path], scratch: Path, args: argparse.Namespace) -> list[tuple[str, list, str]]:
    """Every measurement asked for, tree after tree; rows of (what, a value a tree, "lower" or "higher" better)."""
    rows: list[tuple[str, list, str]] = []
    caches = {name: scratch / f"cache-{i}" for i, name in enumerate(trees)}
    model = args.model or scratch / "model.wt"
    if not model.exists():  # one model for every tree, so that their names can be compared
        command_seconds(ROOT / "src", scratch / "cache-model", "train", str(PHOTOS), "--out", str(model))
    photos = test_photos(model)
    first = {name: command_seconds(src, caches[name], "predict", str(model), str(photos[0]))
             for name, src in trees.items()}
    rows.append(("first predict on a machine (networks converted and exported), s", [first[n] for n in trees],
                 "lower"))
    if "train" in args.only:
        cold, warm = {}, {}
        for name, src in trees.items():
            for part in ("", "-wal", "-shm"):  # the embedding cache goes; weights/ and onnx/ stay
                (caches[name] / f"embeddings.sqlite3{part}").unlink(missing_ok=True)
            out = scratch / f"retrained-{name.replace(' ', '-')}.wt"
            cold[name] = command_seconds(src, caches[name], "train", str(PHOTOS), "--out", str(out))
            warm[name] = command_seconds(src, caches[name], "train", str(PHOTOS), "--out", str(out))
            print(f"train {name}: cold {cold[name]:.1f} s, warm {warm[name]:.1f} s", flush=True)
        rows += [("train blackpink, cold, s", [cold[n] for n in trees], "lower"),
                 ("train blackpink, warm retrain, s", [warm[n] for n in trees], "lower"),
                 ("warm / cold", [warm[n] / cold[n] for n in trees], "lower")]
    if "predict" in args.only:
        one, many = {}, {}
        for name, src in trees.items():
            one[name] = command_seconds(src, caches[name], "predict", str(model), str(photos[0]))
            many[name] = command_seconds(src, caches[name], "predict", str(model), *map(str, photos))
            print(f"predict {name}: one photo {one[name]:.2f} s, {len(photos)} photos {many[name]:.1f} s", flush=True)
        rows += [("predict one photo from a cold start, s", [one[n] for n in trees], "lower"),
                 (f"predict, warm, ms a photo ({len(photos)} test photos)",
                  [1000 * (many[n] - one[n]) / (len(photos) - 1) for n in trees], "lower")]
    if "index" in args.only:
        sys.path.insert(0, str(ROOT / "bench"))
        from collection_index import build_collection

        collection = scratch / f"collection-{args.photos}"
        if not collection.exists():
            collection.mkdir(parents=True)
            for i, photo in enumerate(build_collection(args.collection, args.photos)):
                (collection / f"{i:05d}.jpg").symlink_to(photo)
        indexes, speeds = {}, {}
        for name, src in trees.items():
            indexes[name] = scratch / f"index-{name.replace(' ', '-')}"
            result = run_python(src, caches[name], INDEX, str(model), str(collection), str(indexes[name]))
            speeds[name] = result["photos"] / result["seconds"]
            print(f"index {name}: {result['photos']} photos, {result['faces']} faces in {result['seconds']:.1f} s",
                  flush=True)
        rows.append((f"index {args.photos} photos, photos/s", [speeds[n] for n in trees], "higher"))
        if len(trees) == 2:
            rows.append(("index: the two indexes", ["", compare_indexes(*indexes.values())], ""))
    if "video" in args.only:
        clip = scratch / "clip.mp4"
        if not clip.exists():
            make_clip(model, clip)
        factors = {}
        for name, src in trees.items():
            result = run_python(src, caches[name], VIDEO, str(model), str(clip), str(EVERY))
            factors[name] = result["real_time"]
            print(f"video {name}: {result['seconds']:.1f} s, {result['real_time']:.2f}x real time", flush=True)
        rows.append((f"video 1080p, every {EVERY}th frame, times real time", [factors[n] for n in trees], "higher"))
    return rows


if __name__ == "__main__":
    main()
