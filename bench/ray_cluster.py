"""The Ray engine against the local engine on the same photos: the local engine, a local Ray, and a two-node Ray
cluster on this machine (a head and a second node of one CPU each, started here and stopped after), in turns, on
fresh indexes; and whether the three give the same rows. Prints a markdown table.

    .venv/bin/python bench/ray_cluster.py --photos 48 --rounds 2

The photos are links to the shared sets' photos, members and strangers in turn (../shared/datasets); the model is
bench/collection_index.py's (trained once under --work). `first photos back` is when the first photos came back
(for Ray: starting Ray or joining the cluster, starting the actors, each loading the model, and a first batch), and
`photos/s after them` the pace from there on. A last table times Ray's start and an actor's first steps alone.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SOURCES = ["blackpink/photos", "kpop15/train", "celebrity5/train"]
#: The Ray command of this Python's environment.
RAY = Path(sys.executable).with_name("ray")
#: How long a node may take to start (a loaded machine starts Ray slowly).
START_TIMEOUT = 120.0
#: The environment that makes a Ray process authenticate by token.
TOKEN = {"RAY_AUTH_MODE": "token"}
#: A node's environment: by token, and stopped at once when told to (no draining of its work first).
NODE = {**TOKEN, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}


def load() -> str:
    """This machine's load average (1, 5 and 15 minutes)."""
    return "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def free_ports(n: int) -> list[int]:
    """`n` TCP ports free on this machine now (bound, read, released together so that they differ)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@contextmanager
def two_nodes(folder: Path, cpus: int = 1) -> Iterator[str]:
    """A Ray head and a second node on this machine, `cpus` CPUs each, the second with the resource `node2`, each
    with its own temporary folder under `folder` (keep it short: Ray's Unix sockets live there and their paths are
    limited to about 100 bytes). Yields the head's address. Both are started with `ray start --block` in their own
    process groups, and stopped by signalling those groups: `ray stop` would stop every Ray of this machine."""
    port, agent, agent2, grpc, grpc2, env, env2 = free_ports(7)
    common = ["--block", f"--num-cpus={cpus}", "--disable-usage-stats",
              "--node-ip-address=127.0.0.1", f"--object-store-memory={256 << 20}"]
    head = [str(RAY), "start", "--head", f"--port={port}", "--include-dashboard=false",
            f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={grpc}",
            f"--runtime-env-agent-port={env}", f"--temp-dir={folder / 'h'}", *common]
    second = [str(RAY), "start", f"--address=127.0.0.1:{port}", f"--dashboard-agent-listen-port={agent2}",
              f"--dashboard-agent-grpc-port={grpc2}", f"--runtime-env-agent-port={env2}",
              f"--temp-dir={folder / 'n'}", '--resources={"node2": 1}', *common]
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        nodes.append(_node(head, folder / "head.log"))
        _wait_for(lambda: _listening(port), nodes, "the head")
        nodes.append(_node(second, folder / "node2.log"))
        address = f"127.0.0.1:{port}"
        _wait_for(lambda: _alive_nodes(address) == 2, nodes, "the second node")
        yield address
    finally:
        for node in reversed(nodes):
            _stop(node)


def _node(command: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """`ray start --block ...` in a process group of its own, its output in `log`, authenticating by token (as a
    head started where a token exists does by itself, and a node joining it must be told to), and stopping at once
    on SIGTERM."""
    with open(log, "wb") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **NODE})


def _wait_for(ready: Callable[[], bool], nodes: Sequence[subprocess.Popen[bytes]], what: str) -> None:
    """Poll `ready()` until it holds; fail when a node exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if any(node.poll() is not None for node in nodes):
            raise RuntimeError(f"{what} of the Ray cluster exited while starting")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} of the Ray cluster did not start in {START_TIMEOUT:.0f} s")
        time.sleep(0.5)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _alive_nodes(address: str) -> int:
    """Nodes of the cluster that are alive."""
    answer = ask(address, "print(sum(n['Alive'] for n in ray.nodes()))").split()
    return int(answer[-1]) if answer else 0


def ask(address: str, code: str) -> str:
    """What Python `code` prints, run with `ray` joined to the cluster at `address`, in a process of its own (this
    one may join the cluster later, or have joined another Ray); "" when it fails."""
    script = f"import ray; ray.init(address={address!r}, log_to_driver=False)\n{code}"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=START_TIMEOUT,
                          env={**os.environ, **TOKEN})
    return done.stdout if done.returncode == 0 else ""


def leftovers(folder: Path) -> list[int]:
    """Processes whose command line names `folder` (a node's processes name their temporary folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _stop(node: subprocess.Popen[bytes]) -> None:
    """Stop a node: SIGTERM to its process group (`ray start --block` then stops what it started), SIGKILL to
    the group after 20 s."""
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(node.pid, sig)
        except ProcessLookupError:
            return
        try:
            node.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def photos_folder(folder: Path, count: int) -> Path:
    """A folder of links to `count` photos of the shared sets, one of each person in turn (members and
    strangers, so that the names vary), made anew."""
    shutil.rmtree(folder, ignore_errors=True)
    people = [sorted(p for p in person.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
              for part in SOURCES for person in sorted((DATASETS / part).iterdir()) if person.is_dir()]
    chosen = [photos[i] for i in range(max(map(len, people))) for photos in people if i < len(photos)][:count]
    for photo in chosen:
        link = folder / photo.relative_to(DATASETS)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(photo)
    return folder


def timed_index(model: Path, photos: Path, target: Path, engine: Any, batch: int) -> tuple[float, float, float, Any]:
    """(seconds, seconds to the first photos back, photos/s after them, the index) of indexing `photos` into a new
    `target` with `engine`, `batch` photos a commit."""
    from whosthat.collection import index

    shutil.rmtree(target, ignore_errors=True)
    start, first, done = time.perf_counter(), [0.0, 0], [0]

    def progress(_total: int) -> Any:
        def advance(n: int) -> None:
            if not first[1]:
                first[:] = [time.perf_counter() - start, n]
            done[0] += n
        return advance

    opened = index(model, photos, index=target, engine=engine, use_cache=False, progress=progress, batch=batch)
    seconds = time.perf_counter() - start
    return seconds, first[0], (done[0] - first[1]) / max(1e-9, seconds - first[0]), opened


PHASES = {
    "start a local Ray and stop it (no work)":
        "import logging, ray; ray.init(address='local', num_cpus=2, include_dashboard=False, log_to_driver=False, "
        "logging_level=logging.WARNING); ray.shutdown()",
    "a new process: import whosthat, load the model, recognise one photo (what each actor does first)":
        "from whosthat.collection.recognition import extract_bytes, load_model_bytes; import sys; "
        "extract_bytes(load_model_bytes(open(sys.argv[1], 'rb').read()), open(sys.argv[2], 'rb').read(), 'x', None)",
}


def phases(model: Path, photo: Path) -> list[tuple[str, float]]:
    """Seconds of each of PHASES, each in a new Python process (as Ray's processes are)."""
    timings = []
    for what, code in PHASES.items():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(model), str(photo)], check=True, capture_output=True)
        timings.append((what, time.perf_counter() - start))
    return timings


def rows(opened: Any) -> list[dict[str, Any]]:
    """The index's rows, in order of path and face."""
    table = opened.store.scan(["path", "face", "label", "box", "vector", "error"])
    return sorted(table.to_pylist(), key=lambda r: (r["path"], r["face"]))


def same_rows(a: Any, b: Any) -> bool:
    """Whether two indexes hold the same photos, faces and names, boxes within a pixel and vectors within 1e-4."""
    import numpy as np

    ours, theirs = rows(a), rows(b)
    if [(r["path"], r["face"], r["label"], r["error"]) for r in ours] != \
            [(r["path"], r["face"], r["label"], r["error"]) for r in theirs]:
        return False
    return all(x["vector"] is None or (np.allclose(x["vector"], y["vector"], atol=1e-4)
                                       and np.allclose(x["box"], y["box"], atol=1.0)) for x, y in zip(ours, theirs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=48)
    parser.add_argument("--batch", type=int, default=8, help="photos per commit (the first come back sooner)")
    parser.add_argument("--rounds", type=int, default=2, help="turns of the three engines")
    parser.add_argument("--work", default="/tmp/wt-ray-bench", help="model, photos and indexes")
    parser.add_argument("--model", type=Path, help="a model file (default: bench/collection_index.py's, trained once)")
    args = parser.parse_args()
    from collection_index import train_models
    from whosthat.collection.engines import LocalEngine
    from whosthat.collection.ray_engine import RayEngine

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or train_models(work, work / "cache")[0]
    photos = photos_folder(work / "photos", args.photos)
    folder = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    results, indexes = [], {}
    try:
        start = time.perf_counter()
        with two_nodes(folder) as address:
            started = time.perf_counter() - start
            engines = [("local", 1, LocalEngine), ("ray, local", 1, RayEngine),
                       ("ray, two nodes", 2, lambda: RayEngine(address=address))]
            for turn in range(args.rounds):
                for name, nodes, engine in engines:
                    before = load()
                    target = work / f"{nodes}-{name[:3]}.index"
                    seconds, first, rate, opened = timed_index(model, photos, target, engine(), args.batch)
                    results.append((name, nodes, opened.last_run.photos, seconds, first, rate,
                                    f"{before} / {load()}"))
                    indexes[name] = opened
                    print(f"  round {turn + 1}: {name} {seconds:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{args.photos} photos, model {model}, {os.cpu_count()} CPUs; the two-node cluster took {started:.1f} s "
          "to start\n")
    print("| engine | nodes | photos | seconds | photos/s | first photos back, s | photos/s after them "
          "| load (1, 5, 15 min) before / after |")
    print("| :--- | ---: | ---: | ---: | ---: | ---: | ---: | :--- |")
    for name, nodes, n, seconds, first, rate, when in results:
        print(f"| {name} | {nodes} | {n} | {seconds:.1f} | {n / seconds:.2f} | {first:.1f} | {rate:.2f} | {when} |")
    print(f"\nWhere a Ray run's time goes, each in a new process ({load()}):\n")
    print("| step | seconds |")
    print("| :--- | ---: |")
    for what, seconds in phases(model, next(p for p in sorted(photos.rglob("*")) if p.is_file())):
        print(f"| {what} | {seconds:.1f} |")
    for name in ("ray, local", "ray, two nodes"):
        print(f"\nsame rows as the local engine ({name}): {same_rows(indexes[name], indexes['local'])}")


if __name__ == "__main__":
    main()
