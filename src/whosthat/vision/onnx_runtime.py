"""whosthat's networks in ONNX Runtime on the CPU: the session options they share, and the embedding networks of
whosthat's own (PyTorch modules) exported to ONNX once per machine.

On the CPU, ONNX Runtime runs YuNet, FaceNet and dlib's network faster than OpenCV and PyTorch do, and keeps its
pace when other work shares the cores, where PyTorch's OpenMP threads wait on each other (bench/speed.py). An
exported graph is kept in the cache folder under the SHA-256 of the weight file it was made from, written whole or
not at all, and read back by later runs.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from whosthat.core.files import file_digest, write_atomically
from whosthat.vision.cache import default_cache_dir

if TYPE_CHECKING:
    import torch

#: The graph's opset: one that every ONNX Runtime whosthat installs with (1.17 and newer) runs.
OPSET = 17


def session_options() -> Any:
    """Options for whosthat's sessions on the CPU: a thread a core this process may use, and threads that sleep
    rather than spin between calls, so that the detector and the embedders, which run side by side, share the
    cores."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = cores()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def cores() -> int:
    """The cores this process is meant to use: `OMP_NUM_THREADS` where it is set (as Ray sets it in each actor,
    to the CPUs the actor holds), else those it may run on."""
    given = os.environ.get("OMP_NUM_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxNetwork:
    """A PyTorch network as an ONNX Runtime session: called with a (B, 3, size, size) float32 array, it returns the
    (B, dim) outputs the module would. PyTorch is imported only to export the graph.

    name: the network's name in the cached file's name. weights: the file its weights come from (the cache key).
    build: makes the PyTorch module, called only when the graph must be exported. cache_dir: where the graph is
    kept (default: whosthat's cache folder; `onnx/` in it).
    """

    def __init__(self, name: str, size: int, weights: Path, build: Callable[[], torch.nn.Module],
                 cache_dir: Optional[Path] = None) -> None:
        self.name = name
        self.size = size
        self.weights = weights
        self._build = build
        self._folder = (Path(cache_dir) if cache_dir else default_cache_dir()) / "onnx"
        self._session: Any = None
        self._lock = threading.Lock()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.session().run(None, {"input": np.ascontiguousarray(batch, np.float32)})[0]

    def session(self) -> Any:
        """The session, made on first use from the cached graph; exported first when this machine has none or
        the kept one cannot be loaded (then written again), and run from memory when the cache cannot be written."""
        with self._lock:
            if self._session is None:
                self._session = self._load()
        return self._session

    @cached_property
    def path(self) -> Path:
        """Where the network's graph is kept: named for the network, its weight file's digest and the opset."""
        return self._folder / f"{self.name}-{file_digest(self.weights)[:32]}-opset{OPSET}.onnx"

    def _load(self) -> Any:
        import onnxruntime
        from onnxruntime.capi import onnxruntime_pybind11_state as state

        def start(graph: str | bytes) -> Any:
            return onnxruntime.InferenceSession(graph, session_options(), providers=["CPUExecutionProvider"])

        if self.path.is_file():
            try:
                return start(str(self.path))
            except (state.Fail, state.InvalidProtobuf, state.InvalidGraph, state.RuntimeException):
                pass  # a damaged file of ours: exported and written again
        graph = self._export()
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, graph)
        except OSError:  # a cache folder that cannot be written: this run uses the graph from memory
            pass
        return start(graph)

    def _export(self) -> bytes:
        """The network's ONNX graph, exported from its PyTorch module."""
        import torch

        stream = io.BytesIO()
        with torch.inference_mode(False), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes about itself and about traced shapes
            example = torch.zeros(1, 3, self.size, self.size)
            torch.onnx.export(self._build().eval(), (example,), stream,  # type: ignore[arg-type]
                              input_names=["input"],
                              output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                              opset_version=OPSET, dynamo=False)
        return stream.getvalue()
