"""Engines that recognise the photos of a collection: `local` (this process, batched, decoding in threads)
and `ray` (a Ray Data job, on this machine or a cluster), registered in `whosthat.collection.job.ENGINES`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional

import pyarrow as pa

from whosthat.collection.job import ENGINES, Engine, EngineJob
from whosthat.collection.recognition import extract_files, name_faces
from whosthat.collection.rows import Recognised, recognised_table
from whosthat.vision.cache import EmbeddingCache, content_hash


@ENGINES.register("local")
class LocalEngine:
    """In this process: the model's batched extraction (decoding and detection in threads), `batch` photos a commit."""

    name = "local"

    def __init__(self, threads: Optional[int] = None) -> None:
        self.threads = threads or min(4, os.cpu_count() or 1)

    def recognise(self, job: EngineJob) -> Iterator[pa.Table]:
        model = job.model.model
        cache = EmbeddingCache(job.cache_dir) if job.cache_dir is not None else None
        with ThreadPoolExecutor(self.threads) as pool:
            for start in range(0, len(job.photos), job.batch):
                paths = [p.path for p in job.photos[start:start + job.batch]]
                keys = {path: key for path, key in zip(paths, pool.map(_hash, paths)) if key}
                photos = [Recognised(subjects.source, keys.get(Path(subjects.source), ""),
                                     name_faces(model, subjects.source, subjects.faces, subjects.embeddings),
                                     subjects.error)
                          for subjects in extract_files(model, paths, keys, cache, job.progress)]
                yield recognised_table(photos, job.dim)


@ENGINES.register("ray")
def ray_engine(address: Optional[str] = None, concurrency: Optional[int] = None,
               num_gpus: Optional[float] = None) -> Engine:
    """The Ray Data engine (`whosthat.collection.ray_engine`; needs `pip install whosthat[ray]`)."""
    from whosthat.collection.ray_engine import RayEngine

    return RayEngine(address=address, concurrency=concurrency, num_gpus=num_gpus)


def _hash(path: Path) -> str:
    """The content hash of a file, or "" when it cannot be read (the extraction then says why)."""
    try:
        return content_hash(path.read_bytes())
    except OSError:
        return ""
