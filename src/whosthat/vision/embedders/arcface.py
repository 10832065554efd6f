"""ArcFace: an InsightFace face recognition model that the user has (ONNX, 512-d), run with onnxruntime.

InsightFace's models (buffalo_l's w600k_r50.onnx, antelopev2's glintr100.onnx, buffalo_s's
w600k_mbf.onnx, ...) are not on PyPI and their licence allows non-commercial research only, so
whosthat neither ships nor downloads them: it uses the file given (`--embedder arcface:PATH`, a file
or a pack folder), else `$WHOSTHAT_ARCFACE`, else the recognition model of the first pack in
`~/.insightface/models/` that holds one (buffalo_l, InsightFace's default, first; then by name).
Faces are aligned as InsightFace's `norm_crop` aligns them: its five-point template (`arcface_dst`),
the least-squares similarity transform from YuNet's landmarks (what scikit-image's
`SimilarityTransform.estimate`, which InsightFace calls, computes), black outside the photo. The RGB
chip goes in as (x - 127.5) / 127.5, or as it is when the graph's first nodes subtract and scale it
themselves (the models converted from MXNet), as InsightFace's `ArcFaceONNX` decides.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import cv2
import numpy as np

from whosthat.core.errors import MissingWeightsError, ModelFileError
from whosthat.core.files import file_digest
from whosthat.vision.align import crop_box, template, warp
from whosthat.vision.embedders.base import embed_in_batches
from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.face import Face
from whosthat.vision.onnx_graph import GraphSummary, read_graph_summary

#: The environment variable that names the model file (or a pack folder).
ENVIRONMENT = "WHOSTHAT_ARCFACE"
#: InsightFace's default pack, tried first among those in ~/.insightface/models/.
DEFAULT_PACK = "buffalo_l"
#: Why the file is the user's to provide: the end of every message about a missing one.
NOT_SHIPPED = ("whosthat does not ship InsightFace's models: they are not on PyPI and their licence is "
               "non-commercial")
MISSING = (f"arcface: no InsightFace face recognition model found: put a pack (e.g. buffalo_l, with w600k_r50.onnx) "
           f"in ~/.insightface/models/, or give the .onnx file with --embedder arcface:PATH or ${ENVIRONMENT}; "
           f"{NOT_SHIPPED}")

_HASHES: dict[tuple[Path, int, int], str] = {}


def packs_folder() -> Path:
    """Where InsightFace keeps its model packs (~/.insightface/models)."""
    return Path.home() / ".insightface" / "models"


@dataclass(frozen=True)
class RecognitionGraph:
    """What whosthat needs of a recognition model's graph: input and output names, chip side, vector size,
    the input's normalisation ((x - mean) / std) and its batch size when the file fixes one."""

    input_name: str
    output_name: str
    size: int
    dim: int
    mean: float
    std: float
    batch: Optional[int]


def recognition_graph(summary: GraphSummary) -> Optional[RecognitionGraph]:
    """The graph as a recognition model, or None when it is none (InsightFace's model router: one input of
    N x 3 x S x S with S >= 112 and a multiple of 16, one output; S a multiple of 112 or 128, which its
    alignment template allows; the output an N x D vector)."""
    if len(summary.inputs) != 1 or len(summary.outputs) != 1:
        return None
    shape, out = summary.inputs[0].shape, summary.outputs[0].shape
    if len(shape) != 4 or shape[1] != 3 or not isinstance(shape[2], int) or shape[2] != shape[3]:
        return None
    size = shape[2]
    if size < 112 or size % 16 or (size % 112 and size % 128):
        return None
    if len(out) != 2 or not isinstance(out[1], int):
        return None
    # Models converted from MXNet subtract and scale inside the graph (InsightFace looks at the first 8 nodes).
    inside = (any(n.startswith(("Sub", "_minus")) for n in summary.node_names)
              and any(n.startswith(("Mul", "_mul")) for n in summary.node_names))
    mean, std = (0.0, 1.0) if inside else (127.5, 127.5)
    batch = shape[0] if isinstance(shape[0], int) else None
    return RecognitionGraph(summary.inputs[0].name, summary.outputs[0].name, size, out[1], mean, std, batch)


def read_recognition_graph(path: Path) -> RecognitionGraph:
    """The recognition graph of the file at `path`; ModelFileError when it is not one."""
    try:
        summary = read_graph_summary(path)
    except (OSError, ValueError) as error:
        raise ModelFileError(f"arcface: {path}: not an ONNX model ({error})") from None
    graph = recognition_graph(summary)
    if graph is None:
        shape = " x ".join(str(d) for d in summary.inputs[0].shape) if summary.inputs else "none"
        raise ModelFileError(f"arcface: {path}: not an InsightFace face recognition model (its input is {shape}; "
                             f"one takes N x 3 x 112 x 112 and gives an N x 512 vector)")
    if graph.batch not in (None, 1):
        raise ModelFileError(f"arcface: {path}: takes batches of exactly {graph.batch} faces (whosthat runs a model "
                             f"whose batch size is free, or 1)")
    return graph


def file_sha256(path: Path) -> str:
    """SHA-256 of the file, hex (remembered per path, size and modification time: the files are large)."""
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = file_digest(path)
    return _HASHES[key]


def pack_models(folder: Path) -> Iterator[Path]:
    """The recognition models in a pack folder (and its sub-folders), by name."""
    for path in sorted(folder.rglob("*.onnx")):
        try:
            if path.is_file() and recognition_graph(read_graph_summary(path)) is not None:
                yield path
        except (OSError, ValueError):
            continue


def installed_packs() -> list[Path]:
    """The pack folders in ~/.insightface/models/, the default pack first, then by name."""
    root = packs_folder()
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: (p.name != DEFAULT_PACK, p.name))


def locate(path: Union[str, os.PathLike, None] = None, sha256: Optional[str] = None) -> tuple[Path, str]:
    """The model file and its sha256.

    Without `sha256`: the file (or the pack folder's recognition model) at `path`, else at
    $WHOSTHAT_ARCFACE, else the first pack's. With it (a model trained with that file): the first of
    those places, and every pack, holding a file with that digest. Raises MissingWeightsError.
    """
    if sha256 is None:
        found = _given(path, "") if path is not None else _default()
        return found, file_sha256(found)
    recorded = Path(path).expanduser().absolute() if path is not None else None
    for candidate in _candidates(recorded):
        if file_sha256(candidate) == sha256:
            return candidate, sha256
    there = ("not found" if recorded is None or not recorded.is_file()
             else f"the file there has sha256 {file_sha256(recorded)}")
    raise MissingWeightsError(
        f"arcface: this model needs the InsightFace recognition model {recorded or '(no path recorded)'} with sha256 "
        f"{sha256}: {there}, and no file with that sha256 is at ${ENVIRONMENT} or in {packs_folder()}; put it back, "
        f"or point ${ENVIRONMENT} at a copy ({NOT_SHIPPED})")


def _given(path: Union[str, os.PathLike], source: str) -> Path:
    """The model file at `path` (given by `source`, e.g. "$WHOSTHAT_ARCFACE = "), or in the pack folder there."""
    found = Path(path).expanduser().absolute()
    if found.is_dir():
        model = next(pack_models(found), None)
        if model is None:
            raise MissingWeightsError(f"arcface: {source}{found}: no InsightFace face recognition model (.onnx) in "
                                      f"this folder; {NOT_SHIPPED}")
        return model
    if not found.is_file():
        raise MissingWeightsError(f"arcface: {source}{found}: no such file (an InsightFace face recognition model, "
                                  f"e.g. buffalo_l's w600k_r50.onnx); {NOT_SHIPPED}")
    return found


def _default() -> Path:
    """The file at $WHOSTHAT_ARCFACE, else the first pack's recognition model."""
    if os.environ.get(ENVIRONMENT):
        return _given(os.environ[ENVIRONMENT], f"${ENVIRONMENT} = ")
    for pack in installed_packs():
        model = next(pack_models(pack), None)
        if model is not None:
            return model
    raise MissingWeightsError(MISSING)


def _candidates(recorded: Optional[Path]) -> Iterator[Path]:
    """Each file a recorded model may be found as, once: the recorded one, $WHOSTHAT_ARCFACE's, every pack's."""
    places = [p for p in (recorded, Path(os.environ[ENVIRONMENT]).expanduser().absolute()
                          if os.environ.get(ENVIRONMENT) else None) if p is not None]
    seen = set()
    for place in places + installed_packs():
        for path in (pack_models(place) if place.is_dir() else [place] if place.is_file() else []):
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path


def insightface_template(size: int) -> np.ndarray:
    """InsightFace's five-point template for a `size` chip: scaled from 112 px, or for a multiple of 128
    scaled from 128 px and moved 8 px right (its `estimate_norm`)."""
    if size % 112 == 0:
        return template(112) * (size / 112)
    points = template(112) * (size / 128)
    points[:, 0] += 8 * size / 128
    return points


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 matrix of the similarity (rotation, uniform scale, shift) that maps `source` points onto
    `target` points with the least squared error."""
    x, y = source[:, 0].astype(np.float64), source[:, 1].astype(np.float64)
    ones, zeros = np.ones_like(x), np.zeros_like(x)
    system = np.concatenate([np.stack([x, -y, ones, zeros], 1), np.stack([y, x, zeros, ones], 1)])
    values = np.concatenate([target[:, 0], target[:, 1]]).astype(np.float64)
    (a, b, tx, ty), *_ = np.linalg.lstsq(system, values, rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


def insightface_chip(image: np.ndarray, face: Face, size: int) -> np.ndarray:
    """The (size, size, 3) chip InsightFace's `norm_crop` cuts for the face's five landmarks (without
    landmarks, the square around its box)."""
    if face.landmarks is None:
        return crop_box(image, face.box, size)
    matrix = similarity_transform(face.landmarks, insightface_template(size))
    if not np.isfinite(matrix).all() or np.hypot(matrix[0, 0], matrix[1, 0]) < 1e-6:
        return crop_box(image, face.box, size)
    return warp(image, matrix, size, cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)


@EMBEDDERS.register("arcface")
class ArcFace:
    """Embeddings of an InsightFace recognition model (512-d for theirs) of chips aligned as InsightFace does.

    path: the .onnx file or a pack folder (default: $WHOSTHAT_ARCFACE, else ~/.insightface/models/);
    sha256: the digest of the file a model was trained with: only that file is accepted, found at
    `path`, $WHOSTHAT_ARCFACE or in ~/.insightface/models/; flip: average with the mirror image;
    device: "cpu", or CUDA when onnxruntime has it (the `onnxruntime-gpu` build) unless told "cpu".
    """

    name = "arcface"

    def __init__(self, path: Union[str, os.PathLike, None] = None, sha256: Optional[str] = None, flip: bool = False,
                 batch_size: int = 32, device: Optional[str] = None) -> None:
        self.path, self.sha256 = locate(path, sha256)
        self.graph = read_recognition_graph(self.path)
        self.dim = self.graph.dim
        self.flip = flip
        self.batch_size = batch_size
        self.device = device
        self._session: Any = None
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """The model file's sha256, the alignment and the settings: what changes the vectors."""
        return f"arcface@sha256:{self.sha256}:insightface{self.graph.size}:flip{int(self.flip)}"

    @property
    def settings(self) -> dict:
        """The file (path and sha256) and flip: `create_embedder("arcface", **settings)` finds that file again."""
        return {"path": str(self.path), "sha256": self.sha256, "flip": self.flip}

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """(size, size, 3) uint8 RGB chips aligned as InsightFace aligns them."""
        return [insightface_chip(image, face, self.graph.size) for face in faces]

    def embed(self, chips: Sequence[np.ndarray]) -> np.ndarray:
        """(n, dim) unit vectors."""
        return embed_in_batches(chips, self._to_input, self._forward, dim=self.dim, batch_size=self.batch_size,
                                flip=self.flip)

    def session(self) -> Any:
        """The onnxruntime session, made on first use."""
        with self._lock:
            if self._session is None:
                import onnxruntime
                from onnxruntime.capi import onnxruntime_pybind11_state as state

                cuda = self.device != "cpu" and "CUDAExecutionProvider" in onnxruntime.get_available_providers()
                providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if cuda else ["CPUExecutionProvider"]
                try:
                    self._session = onnxruntime.InferenceSession(str(self.path), providers=providers)
                except (state.Fail, state.InvalidProtobuf, state.InvalidGraph, state.NoSuchFile,
                        state.RuntimeException) as error:
                    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise ModelFileError(f"arcface: {self.path}: onnxruntime cannot load it ({reason})") from None
        return self._session

    def _to_input(self, chips: np.ndarray) -> np.ndarray:
        """(B, 3, size, size) float32: stacked RGB uint8 chips normalised as the model expects."""
        batch = chips.transpose(0, 3, 1, 2).astype(np.float32)
        return (batch - np.float32(self.graph.mean)) / np.float32(self.graph.std)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """The model's raw vectors of a batch (one chip at a time when the file fixes a batch of one)."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        session, graph = self.session(), self.graph
        step = 1 if graph.batch == 1 else len(x)
        out = [session.run([graph.output_name], {graph.input_name: x[i:i + step]})[0] for i in range(0, len(x), step)]
        return np.concatenate(out).reshape(len(x), -1)
