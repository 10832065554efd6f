"""The Ray engine on a local 2-CPU Ray: the same index as the local engine's on the same photos.

Run wherever Ray is installed (`make test` installs it); skipped where it is not (`pip install whosthat[ray]`).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from whosthat.collection import Index, index
from whosthat.collection.ray_engine import RayEngine

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                reason="Ray is not installed (pip install 'whosthat[ray]')")


def rows(opened: Index) -> list[dict]:
    table = opened.store.scan(["path", "face", "faces", "label", "confidence", "box", "vector", "error"])
    return sorted(table.to_pylist(), key=lambda r: (r["path"], r["face"]))


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
    ours, local = rows(opened), rows(built)
    assert [(r["path"], r["face"], r["faces"], r["label"], r["error"]) for r in ours] == \
        [(r["path"], r["face"], r["faces"], r["label"], r["error"]) for r in local]
    for a, b in zip(ours, local):
        if b["vector"] is not None:
            np.testing.assert_allclose(a["vector"], b["vector"], atol=1e-5)
            np.testing.assert_allclose(a["box"], b["box"], atol=1e-3)
            assert a["confidence"] == pytest.approx(b["confidence"], abs=1e-5)

