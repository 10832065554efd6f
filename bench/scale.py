"""The collection index at scale: an index of 10^6 synthetic faces and one of 10^5 real-shaped faces, each built
through `IndexStore` and the rows helpers, and every operation on them timed with its peak memory. Prints a
markdown table.

    .venv/bin/python bench/scale.py                       # 10^5 real-shaped and 10^6 synthetic faces
    .venv/bin/python bench/scale.py --real 0 --sizes 100000 1000000
    .venv/bin/python bench/scale.py --quick               # 10^4 of each: what tests/test_bench_scale.py runs

Both indexes are made under --work (under /tmp, never in the repository) and reused by the next run, unless it
was relabelled (`index --relabel` runs last, and changes every name). Each index's
collection is a folder of empty `.jpg` files, one per photo, whose sizes and times the photos rows record, so that
`index --relabel` finds the collection unchanged and `sort` links real files. The model is the small FaceNet
model of the tests (celebrity5, in tests/data); the model it is relabelled with is that one fitted again on a few
more faces (`training.refit`), of the same pipeline.

Synthetic faces: 1 to 3 a photo, vectors of people of about ten faces each (unit vectors scattered around a
random direction), two in five faces named as one of the model's members with random probabilities, the others
unknown. Real-shaped faces: the model's own training faces (FaceNet vectors of celebrity5 photos), each copied
many times with noise of a random strength (so that each row is distinct), half of them with their values
shuffled in one of a few hundred ways (strangers: real values, nobody's face), named by the model from those
vectors (its probabilities, its stranger test), a face to a photo.

Each operation runs in a new process (`--op`), which reports its seconds (the operation alone, after imports and
opening the index) and its peak resident memory (VmHWM, the whole process); an operation over --timeout
seconds is stopped. Queries (`find`, `summary`, the served `/v1/index/find`) are the median of a few calls after
a first one; the served find is a FastAPI `TestClient` on the index routes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "tests" / "data" / "celebrity5-facenet-format1.wt"
#: The operations timed, in the order they run (relabel last: it changes the index's model).
OPERATIONS = ["summary", "find --name", "find --like", "serve /v1/index/find", "people", "sort", "index --relabel"]
#: Rows written per commit while an index is made.
BATCH = 50_000
#: Share of the real-shaped faces that are strangers, and the shuffles of a vector's values that make them.
STRANGERS = 0.5
STRANGER_SHUFFLES = 200
#: Calls of a query after its first, of which the median is reported.
REPEATS = 5


def load() -> str:
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


# Making the indexes.


def other_model(work: Path) -> Path:
    """The model fitted again on three jittered training faces: another model of the same pipeline."""
    from whosthat.models.loading import load as load_model
    from whosthat.training.refit import refit

    out = work / "other.wt"
    if not out.exists():
        model = load_model(MODEL)
        rng = np.random.default_rng(1)
        faces = model.reference.X[:3] * (1 + 0.05 * rng.standard_normal(model.reference.X[:3].shape))
        names = [model.classes[int(y)] for y in model.reference.y[:3]]
        refit(model, faces.astype(np.float32), names, np.zeros((0, faces.shape[1]), np.float32)).save(out)
    return out


def synthetic_faces(n: int, model: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n synthetic faces (see the module): vectors, labels (class index, -1 unknown), probabilities."""
    dim, classes = model.reference.X.shape[1], len(model.classes)
    people = unit(rng.standard_normal((max(1, n // 10), dim)).astype(np.float32))
    who = rng.integers(0, len(people), n)
    vectors = unit(people[who] + 0.12 * rng.standard_normal((n, dim)).astype(np.float32))
    probabilities = rng.dirichlet(np.ones(classes), n).astype(np.float32)
    label = np.where(rng.random(n) < 0.4, probabilities.argmax(axis=1), -1)
    return {"vector": vectors, "label": label, "probabilities": probabilities}


def real_faces(n: int, model: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """n real-shaped faces (see the module), named by the model face by face from their vectors."""
    reference = model.reference.X.astype(np.float32)
    dim = reference.shape[1]
    source = rng.integers(0, len(reference), n)
    shuffles = np.array([rng.permutation(dim) for _ in range(STRANGER_SHUFFLES)])
    stranger = rng.random(n) < STRANGERS
    columns = np.where(stranger[:, None], shuffles[rng.integers(0, len(shuffles), n)], np.arange(dim))
    strength = rng.uniform(0.05, 0.6, n).astype(np.float32)[:, None]
    scale = np.linalg.norm(reference, axis=1).mean() / np.sqrt(dim)
    vectors = reference[source[:, None], columns] + strength * scale * rng.standard_normal((n, dim)).astype(np.float32)
    evidence = model.evidence(vectors)
    best = evidence.probabilities.argmax(axis=1)
    accepted = (evidence.stranger >= model.threshold)[np.arange(n), best]
    accepted &= evidence.probabilities[np.arange(n), best] >= 0.05
    return {"vector": vectors.astype(np.float32), "label": np.where(accepted, best, -1),
            "probabilities": evidence.probabilities.astype(np.float32)}


def make_index(directory: Path, rows: int, kind: str) -> float:
    """The index of `rows` faces of `kind` ("synthetic" or "real") in `directory`, with its collection of empty
    photos beside it; made once (a finished index is reused). Returns the seconds it took (0: reused)."""
    import pyarrow as pa

    from whosthat.collection.lock import IndexLock
    from whosthat.collection.recognition import load_model
    from whosthat.collection.rows import fixed, split
    from whosthat.collection.scan import scan_collection
    from whosthat.collection.schema import Labeller, Manifest, model_file_name, recognised_schema
    from whosthat.collection.store import IndexStore, now
    from whosthat.recognition.prediction import UNKNOWN_LABEL

    done = directory / "made.json"
    if done.exists():
        return 0.0
    started = time.perf_counter()
    shutil.rmtree(directory, ignore_errors=True)
    rng = np.random.default_rng(0)
    loaded = load_model(MODEL)
    model = loaded.model
    faces = (synthetic_faces if kind == "synthetic" else real_faces)(rows, model, rng)
    counts = rng.choice([1, 1, 1, 2, 3], rows) if kind == "synthetic" else np.ones(rows, np.int64)
    counts = counts[:np.searchsorted(np.cumsum(counts), rows) + 1]
    counts[-1] -= counts.sum() - rows
    collection = directory / "collection"
    for k in range(len(counts)):
        if k % 1000 == 0:
            (collection / f"{k // 1000:04d}").mkdir(parents=True, exist_ok=True)
        (collection / f"{k // 1000:04d}" / f"{k:07d}.jpg").touch()
    scanned = {str(p.path): p for p in scan_collection(collection).photos}
    dim = model.reference.X.shape[1]
    manifest = Manifest(collection=str(collection.resolve()), pipeline=loaded.pipeline, dim=dim, created=now())
    labeller = Labeller(fingerprint=loaded.fingerprint, model_file=model_file_name(loaded.fingerprint),
                        source=loaded.source, classes=loaded.classes, threshold=loaded.threshold, labelled=now())
    store = IndexStore.create(directory / "index", manifest, labeller, loaded.data)
    names = np.array([*model.classes, UNKNOWN_LABEL], dtype=object)
    first = np.concatenate([[0], np.cumsum(counts)])
    paths = sorted(scanned)
    with IndexLock(store.directory):
        for start in range(0, len(counts), BATCH):
            photos = slice(start, min(start + BATCH, len(counts)))
            face_rows = slice(first[photos.start], first[photos.stop])
            n = face_rows.stop - face_rows.start
            offsets = pa.array((first[photos.start:photos.stop + 1] - first[photos.start]).astype(np.int32))
            label = faces["label"][face_rows]
            probabilities = faces["probabilities"][face_rows]
            best = probabilities.max(axis=1)
            confidence = np.where(label >= 0, probabilities[np.arange(n), np.maximum(label, 0)], 1 - best)
            boxes = np.tile(np.array([10, 10, 110, 130], np.float32), (n, 1))
            per_face = {
                "box": fixed(boxes, 4), "landmarks": fixed(np.zeros((n, 10), np.float32), 10),
                "detection_score": pa.array(np.full(n, 0.9, np.float32)),
                "vector": fixed(faces["vector"][face_rows], dim),
                "label": pa.array(names[label].tolist(), pa.string()),
                "confidence": pa.array(confidence.astype(np.float32)),
                "probabilities": fixed(probabilities, probabilities.shape[1]).cast(pa.list_(pa.float32()))}
            sources = paths[photos]
            recognised = pa.table({
                "source": pa.array([os.fsencode(s) for s in sources], pa.binary()),
                "content_hash": pa.array([hashlib.sha256(s.encode()).hexdigest() for s in sources], pa.string()),
                "error": pa.nulls(len(sources), pa.string()),
                **{name: pa.ListArray.from_arrays(offsets, values) for name, values in per_face.items()}},
            ).cast(recognised_schema(dim))
            photo_rows, face_table = split(recognised, scanned, store.table.schema)
            store.append(photo_rows, face_table)
        store.tidy()
    seconds = time.perf_counter() - started
    done.write_text(json.dumps({"rows": rows, "kind": kind, "seconds": seconds}))
    return seconds


# The operations, each in its own process.


def median_s(function: Callable[[], object]) -> float:
    """Seconds of `function`: the median of REPEATS calls after a first one."""
    function()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def operation(name: str, directory: Path, work: Path) -> dict[str, Any]:
    """Run one operation on the index in `directory`; its seconds and what it found."""
    from whosthat.collection.api import Index

    index = directory / "index"
    opened = Index(index)
    if name == "summary":
        return {"seconds": median_s(opened.summary), "faces": opened.summary().faces}
    if name == "find --name":
        member = opened.members[0]
        return {"seconds": median_s(lambda: opened.find(member, limit=20)), "hits": len(opened.find(member))}
    if name == "find --like":
        from whosthat.collection.find import find_like

        vector = next(opened.store.batches(["vector"], 16))["vector"][0].values.to_numpy()
        return {"seconds": median_s(lambda: find_like(opened.store, vector, 20))}
    if name == "serve /v1/index/find":
        from fastapi import FastAPI
        from fastapi.testclient import TestClient

        from whosthat.serve.index_routes import index_router

        app = FastAPI()
        app.include_router(index_router(index))
        client = TestClient(app)
        query = {"name": opened.members[0], "limit": 48}
        start = time.perf_counter()
        assert client.get("/v1/index/find", params=query).status_code == 200
        first = time.perf_counter() - start
        return {"seconds": median_s(lambda: client.get("/v1/index/find", params=query)), "first_s": first}
    if name == "people":
        start = time.perf_counter()
        report = opened.people(restart=True)
        return {"seconds": time.perf_counter() - start, "people": len(report.people),
                "unknown_faces": report.unknown_faces}
    if name == "sort":
        into = work / f"sorted-{directory.name}"
        shutil.rmtree(into, ignore_errors=True)
        start = time.perf_counter()
        report = opened.sort(into)
        seconds = time.perf_counter() - start
        shutil.rmtree(into, ignore_errors=True)
        return {"seconds": seconds, "made": report.made}
    if name == "index --relabel":
        from whosthat.collection.indexer import build_index

        current = opened.store.labeller.fingerprint
        from whosthat.collection.recognition import load_model

        model = next(m for m in (MODEL, other_model(work)) if load_model(m).fingerprint != current)
        start = time.perf_counter()
        report = build_index(model, None, index, relabel=True)
        return {"seconds": time.perf_counter() - start, "photos": report.photos, "unchecked": report.unchecked,
                "timings": report.timings}
    raise SystemExit(f"unknown operation {name!r}")


def run_operation(name: str, directory: Path, work: Path, timeout: float) -> dict[str, Any]:
    """`operation` in a new process: its result, with `gb` (its peak resident memory), or `stopped`."""
    command = [sys.executable, __file__, "--op", name, "--index", str(directory), "--work", str(work)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"stopped": timeout}
    if done.returncode != 0:
        raise SystemExit(f"{name} on {directory} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_gb() -> float:
    """This process's peak resident memory: Linux's VmHWM (`ru_maxrss` would count the parent's, taken over at
    `exec`), else `ru_maxrss`."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) * 1024 / 1e9


def child(args: argparse.Namespace) -> None:
    """The `--op` process: the operation's result and the process's peak memory, as one JSON line."""
    result = operation(args.op, Path(args.index), Path(args.work))
    result["gb"] = peak_gb()
    print(json.dumps(result))


def cell(result: dict[str, Any]) -> str:
    if "stopped" in result:
        return f"over {result['stopped']:.0f} s (stopped)"
    seconds = result["seconds"]
    shown = f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"
    return f"{shown} / {result['gb']:.2f} GB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000], help="synthetic faces of each index")
    parser.add_argument("--real", type=int, default=100_000, help="real-shaped faces (0: none)")
    parser.add_argument("--quick", action="store_true", help="10^4 faces of each kind")
    parser.add_argument("--work", default="/tmp/whosthat-scale", help="where the indexes are made and kept")
    parser.add_argument("--timeout", type=float, default=600, help="seconds after which an operation is stopped")
    parser.add_argument("--only", nargs="+", choices=OPERATIONS, help="these operations only")
    parser.add_argument("--json-out", help="also write every result as JSON here")
    parser.add_argument("--op", help=argparse.SUPPRESS)
    parser.add_argument("--index", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.op:
        child(args)
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    sizes = [10_000] if args.quick else args.sizes
    real = 10_000 if args.quick else args.real
    columns = ([("real", real)] if real else []) + [("synthetic", n) for n in sizes]
    operations = args.only or OPERATIONS
    started = load()
    other_model(work)
    results: dict[str, dict[str, Any]] = {}
    for kind, rows in columns:
        directory = work / f"{kind}-{rows}"
        made = make_index(directory, rows, kind)
        print(f"{kind} index of {rows:,} faces: " + (f"made in {made:.0f} s" if made else "reused") + f" ({directory})",
              file=sys.stderr)
        for name in operations:
            if name == "index --relabel":  # the faces now have the other model's names: made again next time
                (directory / "made.json").unlink()
            result = run_operation(name, directory, work, args.timeout)
            print(f"  {name}: {cell(result)}  {json.dumps(result)}  (load {load()})", file=sys.stderr, flush=True)
            results.setdefault(name, {})[f"{kind}-{rows}"] = result
    titles = [f"10^{int(np.log10(rows))} {'real-shaped' if kind == 'real' else kind} s / GB"
              if rows and np.log10(rows).is_integer() else f"{rows:,} {kind} s / GB" for kind, rows in columns]
    print(f"\nLoad average (1, 5, 15 min): {started} at the start, {load()} at the end.\n")
    print("| operation | " + " | ".join(titles) + " |")
    print("| :--- | " + " | ".join("---:" for _ in columns) + " |")
    for name in operations:
        print(f"| {name} | " + " | ".join(cell(results[name][f"{k}-{n}"]) for k, n in columns) + " |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"load_average": [started, load()], "results": results},
                                                  indent=1))


if __name__ == "__main__":
    main()
