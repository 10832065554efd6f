"""The Ray engine, on a local 2-CPU Ray and on a two-node Ray cluster on this machine: the same index as the local
engine's on the same photos, and nothing of Ray's on the terminal.

Run wherever Ray is installed (`make test` installs it); skipped where it is not (`pip install whosthat[ray]`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from whosthat.collection import Index, index
from whosthat.collection.ray_engine import RayEngine

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed (pip install 'whosthat[ray]')")

ROOT = Path(__file__).resolve().parents[2]
WHOSTHAT = Path(sys.executable).with_name("whosthat")


def rows(opened: Index) -> list[dict]:
    table = opened.store.scan(["path", "face", "faces", "label", "confidence", "box", "vector", "error"])
    return sorted(table.to_pylist(), key=lambda r: (r["path"], r["face"]))


def assert_same_rows(opened: Index, local: Index, atol: float) -> None:
    """The same photos, faces, names and errors; vectors, boxes and confidences within `atol` (boxes 1e-3)."""
    ours, theirs = rows(opened), rows(local)
    assert [(r["path"], r["face"], r["faces"], r["label"], r["error"]) for r in ours] == \
        [(r["path"], r["face"], r["faces"], r["label"], r["error"]) for r in theirs]
    for a, b in zip(ours, theirs):
        if b["vector"] is not None:
            np.testing.assert_allclose(a["vector"], b["vector"], atol=atol)
            np.testing.assert_allclose(a["box"], b["box"], atol=1e-3)
            assert a["confidence"] == pytest.approx(b["confidence"], abs=atol)


def bench_cluster() -> ModuleType:
    """bench/ray_cluster.py, whose `two_nodes` starts a two-node Ray on this machine and stops it."""
    spec = importlib.util.spec_from_file_location("ray_cluster", ROOT / "bench" / "ray_cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cluster() -> Iterator[tuple[str, ModuleType]]:
    """(address, bench module) of a Ray head and a second node (resource `node2`), one CPU each, stopped after.
    Their folders are under /tmp/r...: Ray's Unix sockets live there, and pytest's tmp_path is too long for them."""
    bench = bench_cluster()
    folder = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    try:
        with bench.two_nodes(folder) as address:
            yield address, bench
        assert bench.leftovers(folder) == [], "every process of both nodes stopped"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_ray_engine_builds_the_same_index_as_the_local_engine(built: Index, model_file: Path, tmp_path: Path) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=256 << 20)
    try:
        opened = index(model_file, built.collection, index=tmp_path / "ray.index", engine=RayEngine(), batch=5,
                       use_cache=False)
    finally:
        ray.shutdown()
    run = opened.last_run
    assert run.engine == "ray" and run.photos == built.last_run.photos
    assert sorted(run.unreadable) == sorted(built.last_run.unreadable)
    assert_same_rows(opened, built, atol=1e-5)


def test_index_on_a_two_node_cluster_is_the_local_engines_quietly(built: Index, model_file: Path, tmp_path: Path,
                                                                  cluster: tuple[str, ModuleType]) -> None:
    address, bench = cluster
    command = [str(WHOSTHAT), "index", str(model_file), str(built.collection), "--index", str(tmp_path / "c.index"),
               "--engine", "ray", "--address", address, "--batch", "5", "--no-cache", "--json"]
    # as a user would run it: RAY_AUTH_MODE unset, the cluster asking for this machine's token
    environment = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=environment)
    assert done.returncode == 1, done.stderr[-3000:]  # the collection's broken files, listed
    assert done.stderr == "", "nothing of Ray's on the terminal"
    report = json.loads(done.stdout)
    assert report["engine"] == "ray" and report["photos"] == built.last_run.photos
    assert sorted(report["unreadable"]) == sorted(built.last_run.unreadable)
    assert_same_rows(Index(tmp_path / "c.index"), built, atol=1e-4)
    on_node2 = bench.ask(address, "import ray._private.state as state\n"
                                  "second = {n['NodeID'] for n in ray.nodes() if 'node2' in n['Resources']}\n"
                                  "print(sorted({a['Address']['NodeID'] in second for a in state.actors().values()\n"
                                  "              if 'Recognise' in a['ActorClassName']}))")
    assert on_node2.split() == ["[False,", "True]"], "an actor on each node"
