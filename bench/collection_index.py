"""How the collection index scales: photos/s of the local and Ray engines, an unchanged second run, relabelling,
`find`; and vector search from 10^4 to 10^6 vectors in LanceDB, FAISS and sqlite-vec. Prints markdown tables.

    .venv/bin/python bench/collection_index.py --collection /tmp/wt-collection --photos 5000      # everything
    .venv/bin/python bench/collection_index.py --collection /tmp/wt-collection --photos 200 --skip-vectors   # quick
    .venv/bin/python bench/collection_index.py --skip-photos --sizes 10000 100000 1000000        # vector search only

The collection is made from the shared sets (../shared/datasets): each photo several times under other
names, each copy cropped and resized a little so that no two files have the same bytes. It is made once
(under /tmp, never in the repository) and reused. See bench/README.md for the figures and how they were run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SOURCES = ["blackpink/photos", "kpop15/train", "celebrity5/train", "celebrity5/val"]
MEMBERS = DATASETS / "blackpink" / "photos"


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def build_collection(folder: Path, photos: int) -> list[Path]:
    """`photos` files under `folder`: the shared sets' photos, copy k of each cropped by 2k % a side and scaled
    by 1 - 0.04k, as JPEG; made once (an existing folder with enough photos is reused)."""
    existing = sorted(folder.rglob("*.jpg")) if folder.exists() else []
    if len(existing) >= photos:
        return existing[:photos]
    sources = [p for part in SOURCES for p in sorted((DATASETS / part).rglob("*")) if p.is_file()]
    made: list[Path] = []
    copy = 0
    while len(made) < photos:
        for source in sources:
            if len(made) >= photos:
                break
            target = folder / f"copy{copy}" / source.relative_to(DATASETS).with_suffix(".jpg")
            if not target.exists():
                try:
                    image = Image.open(source).convert("RGB")
                except OSError:
                    continue
                w, h = image.size
                cut = 0.02 * copy
                image = image.crop((int(w * cut), int(h * cut), int(w * (1 - cut)), int(h * (1 - cut))))
                scale = 1 - 0.04 * copy
                image = image.resize((max(32, int(image.width * scale)), max(32, int(image.height * scale))))
                target.parent.mkdir(parents=True, exist_ok=True)
                image.save(target, quality=90)
            made.append(target)
        copy += 1
    return made


def train_models(folder: Path, cache: Path, per_member: int = 40) -> tuple[Path, Path]:
    """The default model (facenet+dlib) on `per_member` blackpink photos of each member, and a second one of the
    same pipeline (an SVM head): the model to index with and the one to relabel with (how well they name faces
    plays no part in the speed measured)."""
    import whosthat

    members = folder / "members"
    for member in sorted(p for p in MEMBERS.iterdir() if p.is_dir()):
        (members / member.name).mkdir(parents=True, exist_ok=True)
        for photo in sorted(member.iterdir())[:per_member]:
            link = members / member.name / photo.name
            if not link.exists():
                link.symlink_to(photo)
    first, second = folder / "blackpink.wt", folder / "blackpink-svm.wt"
    if not first.exists():
        whosthat.train(members, out=first, cache_dir=cache, test_fraction=0.0)
    if not second.exists():
        whosthat.train(members, out=second, head="svm", cache_dir=cache, test_fraction=0.0)
    return first, second


def _log(total: int) -> Callable[[int], None]:
    """Progress on stderr every 100 photos (seconds, photos done, photos/s so far, load), so that a run stopped
    before its end still tells its speed."""
    start, done = time.perf_counter(), [0]

    def advance(n: int) -> None:
        done[0] += n
        if done[0] % 100 < n or done[0] == total:
            spent = time.perf_counter() - start
            print(f"  {spent:7.1f} s  {done[0]:5d}/{total} photos  {done[0] / spent:.2f} photos/s  {load()}",
                  file=sys.stderr, flush=True)

    return advance


def timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def median_ms(function: Callable[[], object], repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def bench_photos(args: argparse.Namespace) -> None:
    from whosthat.collection import Index, index
    from whosthat.collection.ray_engine import RayEngine
    from whosthat.collection.rows import matrix

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"making the collection ({args.photos} photos) in {args.collection} ...", file=sys.stderr)
    photos = build_collection(Path(args.collection), args.photos)
    collection = Path(args.collection)
    model, other = train_models(work, work / "cache")
    print(f"\n{len(photos)} photos in {collection}, model {model} ({load()} at the start)\n")
    rows = []
    local_dir = work / "local.index"
    shutil.rmtree(local_dir, ignore_errors=True)
    before = load()
    seconds, opened = timed(lambda: index(model, collection, index=local_dir, use_cache=False, progress=_log))
    run = opened.last_run
    rows.append(("local engine, first run", len(photos), seconds, run.photos_per_second, f"{before} / {load()}"))
    seconds, again = timed(lambda: index(model, collection, index=local_dir, use_cache=False))
    rows.append(("local engine, second run (nothing new)", 0, seconds, 0.0, load()))
    seconds, relabelled = timed(lambda: index(other, collection, index=local_dir, relabel=True, use_cache=False))
    rows.append(("relabel with another model (same pipeline)", relabelled.last_run.relabelled, seconds, 0.0, load()))
    if not args.skip_ray:
        subset = _linked_subset(photos[:args.ray_photos or len(photos)], collection, work / "ray-photos")
        ray_dir = work / "ray.index"
        shutil.rmtree(ray_dir, ignore_errors=True)
        before = load()
        seconds, by_ray = timed(lambda: index(model, subset, index=ray_dir, engine=RayEngine(), use_cache=False,
                                              progress=_log))
        rows.append(("Ray engine (local Ray, one actor per CPU), first run", by_ray.last_run.photos, seconds,
                     by_ray.last_run.photos_per_second, f"{before} / {load()}"))
    print("| run | photos recognised | seconds | photos/s (recognising) | load (1, 5, 15 min) |")
    print("| :--- | ---: | ---: | ---: | :--- |")
    for name, n, s, rate, when in rows:
        shown = f"{rate:.2f}" if rate else "–"
        print(f"| {name} | {n} | {s:.2f} | {shown} | {when} |")

    opened = Index(local_dir)
    member = opened.members[0]
    probe = photos[0]
    queries = [("find --name (most confident first)", lambda: opened.find(member, limit=20)),
               ("find --name A --with B", lambda: opened.find(opened.members[:2], limit=20)),
               ("find --unsure", lambda: opened.find(unsure=True, limit=20)),
               ("find --like (the search alone, the photo's face already embedded)",
                lambda: opened.store.nearest(vector, 20, ["path"]))]
    vector = matrix(opened.store.scan(["vector"], "face = 0")["vector"], opened.store.manifest.dim)[0]
    print(f"\n`find` on that index ({opened.summary().faces} faces), in-process, median of 20 ({load()}):\n")
    print("| query | ms |")
    print("| :--- | ---: |")
    for name, query in queries:
        print(f"| {name} | {median_ms(query, 20):.1f} |")
    seconds, _ = timed(lambda: opened.find(like=probe, limit=20))
    print(f"| find --like PHOTO, first call (loads the model, detects and embeds the photo) | {1000 * seconds:.0f} |")


def _linked_subset(photos: list[Path], collection: Path, folder: Path) -> Path:
    """A folder of links to some of the collection's photos (the same files, for a shorter run)."""
    shutil.rmtree(folder, ignore_errors=True)
    for photo in photos:
        target = folder / photo.relative_to(collection)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(photo)
    return folder


#: (probes, refine factor) pairs of `--sweep`.
SWEEP = [(40, 10), (40, 30), (80, 10), (80, 30), (160, 10), (160, 30)]


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def synthetic(n: int, dim: int, seed: int = 0, queries: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors of faces of n/10 people (each a random direction, its faces scattered around it so that two
    faces of one person are at a cosine of about 0.7: a distance of 0.3, what `whosthat people` measured between
    FaceNet vectors of one celebrity5 person), and `queries` queries: new faces of people in the set."""
    rng = np.random.default_rng(seed)
    people = unit(rng.standard_normal((max(1, n // 10), dim)).astype(np.float32))
    spread = 0.65 / np.sqrt(dim)
    data = np.empty((n, dim), np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        who = rng.integers(0, len(people), stop - start)
        data[start:stop] = unit(people[who] + spread * rng.standard_normal((stop - start, dim)).astype(np.float32))
    who = rng.integers(0, len(people), queries)
    return data, unit(people[who] + spread * rng.standard_normal((queries, dim)).astype(np.float32))


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    scores = queries @ data.T
    return np.argsort(-scores, axis=1)[:, :k]


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth)]))


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() \
        else Path(path).stat().st_size


def bench_vectors(args: argparse.Namespace) -> None:
    dim, k = args.dim, 10
    print(f"\nVector search, {dim}-d unit vectors (synthetic faces), recall@{k} against exact search, median of "
          f"{args.queries} queries ({load()} at the start):\n")
    print("| vectors | store | index | build s | query ms | recall@10 | disk MB |")
    print("| ---: | :--- | :--- | ---: | ---: | ---: | ---: |")
    from whosthat.collection.store import REFINE_FACTOR, probes

    for n in args.sizes:
        settings = SWEEP if args.sweep else [(probes(n), REFINE_FACTOR)]
        data, queries = synthetic(n, dim, queries=args.queries)
        truth = exact_top(data, queries, k)
        with tempfile.TemporaryDirectory(dir=args.work) as scratch:
            for store in (_faiss, _sqlite_vec, _lance):  # the slowest to build last
                if store is not _sqlite_vec or n <= args.sqlite_max:
                    for row in store(data, queries, Path(scratch), k, settings):
                        index, build, found, ms, size = row
                        _row(n, store.__doc__ or "", index, build, ms, recall(found, truth), size)


def _lance(data: np.ndarray, queries: np.ndarray, scratch: Path, k: int, settings: list[tuple[int, int]]
           ) -> list[tuple]:
    """LanceDB"""
    import lancedb
    import pyarrow as pa
    from lancedb.index import IvfPq

    from whosthat.collection.store import ANN_MIN_ROWS

    n, dim = data.shape
    table_data = pa.table({"id": pa.array(np.arange(n), pa.int64()),
                           "vector": pa.FixedSizeListArray.from_arrays(pa.array(data.reshape(-1)), dim)})
    db = lancedb.connect(str(scratch / "lance"))
    build, table = timed(lambda: db.create_table("v", data=table_data))

    def search(q: np.ndarray, probes: int = 0, refine: int = 1) -> list[int]:
        query = table.search(q).metric("cosine").limit(k).select(["id", "_distance"])
        if probes:
            query = query.nprobes(probes).refine_factor(refine)
        return query.to_arrow()["id"].to_pylist()

    found, ms = _queries(search, queries)
    rows = [("none (exact scan)", build, found, ms, folder_size(scratch / "lance"))]
    if n >= ANN_MIN_ROWS:
        lists = int(np.sqrt(n))
        build, _ = timed(lambda: table.create_index("vector", config=IvfPq(distance_type="cosine", num_partitions=lists,
                                                                          num_sub_vectors=dim // 8)))
        for probes, refine in settings:
            found, ms = _queries(lambda q, p=probes, r=refine: search(q, p, r), queries)
            rows.append((f"IVF_PQ ({lists} lists, {dim // 8} x 8 bit; {probes} probes, refine x{refine})",
                         build, found, ms, folder_size(scratch / "lance")))
    return rows


def _faiss(data: np.ndarray, queries: np.ndarray, scratch: Path, k: int, settings: list[tuple[int, int]]
           ) -> list[tuple]:
    """FAISS file"""
    import faiss

    from whosthat.collection.store import ANN_MIN_ROWS

    n, dim = data.shape
    faiss.omp_set_num_threads(1)  # one query at a time: threads only wait on each other
    flat = faiss.IndexFlatIP(dim)
    build, _ = timed(lambda: flat.add(data))
    faiss.write_index(flat, str(scratch / "flat.faiss"))
    found, ms = _queries(lambda q: flat.search(q[None], k)[1][0].tolist(), queries)
    rows = [("IndexFlatIP (exact)", build, found, ms, folder_size(scratch / "flat.faiss"))]
    if n >= ANN_MIN_ROWS:
        lists = int(np.sqrt(n))
        ivf = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, lists, dim // 8, 8, faiss.METRIC_INNER_PRODUCT)
        refined = faiss.IndexRefineFlat(ivf)
        build, _ = timed(lambda: (refined.train(data[: min(n, 256 * lists)]), refined.add(data)))
        faiss.write_index(refined, str(scratch / "ivfpq.faiss"))
        for probes, refine in settings:
            ivf.nprobe = probes
            refined.k_factor = refine
            found, ms = _queries(lambda q: refined.search(q[None], k)[1][0].tolist(), queries)
            rows.append((f"IVFPQ + exact refine ({lists} lists; {probes} probes, x{refine})", build, found, ms,
                         folder_size(scratch / "ivfpq.faiss")))
    return rows


def _sqlite_vec(data: np.ndarray, queries: np.ndarray, scratch: Path, k: int, settings: list[tuple[int, int]]
                ) -> list[tuple]:
    """sqlite-vec"""
    import apsw  # the standard library's sqlite3 may be built without loadable extensions (pyenv's is)
    import sqlite_vec

    n, dim = data.shape
    connection = apsw.Connection(str(scratch / "vec.sqlite"))
    connection.enable_load_extension(True)
    connection.load_extension(sqlite_vec.loadable_path())
    connection.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{dim}] distance_metric=cosine)")

    def fill() -> None:
        for start in range(0, n, 10_000):
            chunk = range(start, min(n, start + 10_000))
            with connection:
                connection.executemany("INSERT INTO v(rowid, embedding) VALUES (?, ?)",
                                       ((i + 1, data[i].tobytes()) for i in chunk))

    build, _ = timed(fill)
    found, ms = _queries(lambda q: [r[0] - 1 for r in connection.execute(
        "SELECT rowid FROM v WHERE embedding MATCH ? AND k = ?", (q.tobytes(), k))], queries)
    connection.close()
    return [("vec0 (exact scan)", build, found, ms, folder_size(scratch / "vec.sqlite"))]


def _queries(search: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list[list[int]], float]:
    search(queries[0])
    found, times = [], []
    for q in queries:
        start = time.perf_counter()
        found.append(list(search(q)))
        times.append(time.perf_counter() - start)
    return found, 1000 * statistics.median(times)


def _row(n: int, store: str, index: str, build: float, ms: float, found: float, size: int) -> None:
    print(f"| {n:,} | {store} | {index} | {build:.1f} | {ms:.1f} | {found:.3f} | {size / 1e6:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--collection", default="/tmp/wt-collection", help="where the collection is made (and reused)")
    parser.add_argument("--work", default="/tmp/wt-collection-bench", help="models, indexes and scratch files")
    parser.add_argument("--photos", type=int, default=5000)
    parser.add_argument("--skip-photos", action="store_true", help="only the vector search table")
    parser.add_argument("--skip-vectors", action="store_true", help="only the photo tables")
    parser.add_argument("--skip-ray", action="store_true", help="leave out the Ray engine")
    parser.add_argument("--ray-photos", type=int, help="the Ray engine on the first N photos only (default: all)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100, help="queries per size")
    parser.add_argument("--sweep", action="store_true", help="the IVF-PQ indexes at several probes and refinements")
    parser.add_argument("--dim", type=int, default=256, help="vector size (256: the default facenet+dlib)")
    parser.add_argument("--sqlite-max", type=int, default=1_000_000, help="largest size tried with sqlite-vec")
    args = parser.parse_args()
    Path(args.work).mkdir(parents=True, exist_ok=True)
    if not args.skip_photos:
        bench_photos(args)
    if not args.skip_vectors:
        bench_vectors(args)


if __name__ == "__main__":
    main()
