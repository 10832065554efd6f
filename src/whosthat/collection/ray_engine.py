"""The Ray engine: a Ray Data job reads the photos (`read_binary_files`, paths included), and `concurrency`
actors, each holding the model once, detect, embed and name them in `map_batches`. The rows (one per photo, its
faces as lists) stream back to this process, which commits them to the index a batch at a time, as the local
engine does:
one writer, the same resumable commits, and the index may sit on a disk the workers cannot see.

With no address a local Ray is started on this machine (and stopped after); with one, the job joins that
cluster, whose machines must reach the photos at the same paths (a shared file system) and have whosthat
installed (`pip install whosthat[ray]`).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from whosthat.collection.job import EngineJob
from whosthat.core.errors import WhosthatError

#: Photos handed to an actor at once.
ACTOR_BATCH = 8
#: CPU a file-reading task asks for: the actors (on a CPU each, less this) leave room for the reads, which
#: would otherwise wait for a free CPU forever once every CPU holds an actor.
READ_CPUS = 0.1
#: Object store of a local Ray (bytes): the photos in flight, not the whole collection.
LOCAL_OBJECT_STORE = 1 << 30
#: Actor restarts: none. Ray Data hands its actors their settings through the object store, where a restarted
#: actor may not find them again (Ray logs that to the terminal of any pool that allows restarts); a run cut
#: short by a lost actor continues where it stopped when it is run again.
NO_RESTARTS = 0


class Recognise:
    """A Ray Data actor: the model loaded once, then every batch of (bytes, path) rows recognised."""

    def __init__(self, model: bytes, cache_dir: Optional[str], dim: int) -> None:
        from whosthat.collection.recognition import load_model_bytes
        from whosthat.vision.cache import EmbeddingCache

        _one_thread()
        self.model = load_model_bytes(model)
        self.dim = dim
        try:
            self.cache = EmbeddingCache(Path(cache_dir)) if cache_dir else None
        except OSError:  # a worker machine without that folder: no cache there
            self.cache = None

    def __call__(self, batch: Any) -> Any:
        from whosthat.collection.recognition import extract_bytes, name_faces
        from whosthat.collection.rows import Recognised, recognised_table

        photos = []
        for data, path in zip(batch["bytes"].to_pylist(), batch["path"].to_pylist()):
            key, subjects = extract_bytes(self.model, data, path, self.cache)
            named = name_faces(self.model, path, subjects.faces, subjects.embeddings) if subjects.error is None else []
            photos.append(Recognised(path, key, named, subjects.error))
        return recognised_table(photos, self.dim)


def _one_thread() -> None:
    """Keep an actor's PyTorch and OpenCV to one thread each: an actor is given at most one CPU, the pool has an
    actor per CPU, and more threads would only take cores from the other actors and the reads."""
    import cv2
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)


class RayEngine:
    """Recognises photos with Ray Data (see the module); `num_gpus` per actor defaults to 1 where the cluster has
    GPUs, and `concurrency` (actors) to one per CPU, or per GPU."""

    name = "ray"

    def __init__(self, address: Optional[str] = None, concurrency: Optional[int] = None,
                 num_gpus: Optional[float] = None) -> None:
        self.address = address
        self.concurrency = concurrency
        self.num_gpus = num_gpus

    def recognise(self, job: EngineJob) -> Iterator[Any]:
        try:
            import ray
            import ray.data
        except ImportError:
            raise WhosthatError("--engine ray needs Ray: pip install 'whosthat[ray]'") from None
        started = not ray.is_initialized()
        if started:
            _start(ray, self.address)
        try:
            yield from self._run(ray, job)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, job: EngineJob) -> Iterator[Any]:
        import pyarrow as pa

        from whosthat.collection.rows import sources

        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # its notice that they are off
        context.print_on_execution_start = False
        resources = ray.cluster_resources()
        gpus = self.num_gpus if self.num_gpus is not None else (1.0 if resources.get("GPU") else 0.0)
        actors = self.concurrency or max(1, int(resources.get("GPU", 0) // gpus if gpus else resources.get("CPU", 1)))
        files = {str(p.path): p for p in job.photos}
        batches = max(1, -(-len(files) // ACTOR_BATCH))
        actors = min(actors, batches)  # each actor loads the model: none without a batch to recognise
        # a block a batch: an actor hands back its rows block by block, so bigger blocks would hold back the
        # commits, and leave one actor working while the others wait
        dataset = ray.data.read_binary_files(list(files), include_paths=True, ignore_missing_paths=True,
                                             num_cpus=READ_CPUS, override_num_blocks=batches)
        with warnings.catch_warnings():
            # Ray 2.60 takes max_restarts only among the `ray_remote_args`, which it calls deprecated
            warnings.filterwarnings("ignore", message=".*ray_remote_args.* is deprecated")
            dataset = dataset.map_batches(
                Recognise, batch_format="pyarrow", batch_size=ACTOR_BATCH,
                compute=ray.data.ActorPoolStrategy(size=actors), num_gpus=gpus,
                num_cpus=0 if gpus else 1 - READ_CPUS, max_restarts=NO_RESTARTS,
                fn_constructor_kwargs={"model": job.model.data, "dim": job.dim,
                                       "cache_dir": str(job.cache_dir) if job.cache_dir else None})
        for batch in dataset.iter_batches(batch_size=job.batch, batch_format="pyarrow"):
            names = [os.fsencode(_local_name(source, files)) for source in sources(batch)]
            if job.progress:
                job.progress(len(names))
            yield batch.set_column(0, "source", pa.array(names, pa.binary()))


def _start(ray: Any, address: Optional[str]) -> None:
    """Join the cluster at `address`, or start a local Ray on this machine's cores (quietly)."""
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    # Its one notice in this process: that a local Ray authenticates by token, Ray's default (RAY_AUTH_MODE).
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(logging.ERROR)
    # Ray starts its processes by fork and exec: the warnings of LanceDB's runtime about forking do not apply.
    warnings.filterwarnings("ignore", message=".*(fork support is experimental|not fork-safe).*")
    try:
        if address:
            _token_if_any()
            ray.init(address=address, **options)
        else:
            # "local": a Ray of its own, even where RAY_ADDRESS or a `ray start` of this machine names another
            ray.init(address="local", num_cpus=os.cpu_count(), object_store_memory=LOCAL_OBJECT_STORE, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise WhosthatError(f"cannot start {where} ({str(error).splitlines()[0][:200]})") from None


def _token_if_any() -> None:
    """Join a cluster as `ray start` does: by token when RAY_AUTH_MODE is not set and this machine has a Ray token
    (a head started where one exists asks for it; `ray.init` with an address would go without)."""
    from ray._private.authentication.authentication_token_setup import maybe_enable_token_auth_if_token_available

    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def _local_name(path: str, files: dict[str, Any]) -> str:
    """The scan's path of a file Ray read (Ray may drop the leading / of a local path)."""
    return path if path in files else "/" + path.lstrip("/")
