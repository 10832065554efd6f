"""Every call the collection tools make into a model, in one place: load, fingerprint, extract, name, relabel.

A model here is whatever `whosthat.load` returns (a `Model` or an `Ensemble`); only the stable model
API is used (`pipeline_identity`, `extract`, `extract_paths`, `name_subjects`, `classes`, `threshold`).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from whosthat.core.errors import ImageError
from whosthat.models.file import read_bundle
from whosthat.models.loading import load
from whosthat.recognition.prediction import Prediction
from whosthat.vision.cache import EmbeddingCache, content_hash
from whosthat.vision.extract import Subjects
from whosthat.vision.face import Face

#: A model file's path, or a model already loaded (a `Model` or an `Ensemble`).
ModelSource = Union[str, os.PathLike, Any]


@dataclass(frozen=True)
class LoadedModel:
    """A model file's bytes (shipped to Ray workers, copied into the index), their fingerprint and where they came
    from; the model itself is loaded on first use (an index that is up to date never needs it)."""

    data: bytes
    fingerprint: str
    source: str
    path: Optional[Path] = None
    loaded: Any = None

    @cached_property
    def model(self) -> Any:
        if self.loaded is not None:
            return self.loaded
        if self.path is None:
            raise ValueError(f"{self.source}: a LoadedModel needs its file's path or the model already loaded")
        return load(self.path)

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.model.classes)

    @property
    def threshold(self) -> float:
        return float(self.model.threshold)

    @property
    def pipeline(self) -> str:
        """What the faces and vectors depend on: equal strings, equal faces and vectors."""
        return self.model.pipeline_identity

    def dim(self) -> int:
        """The embedding's size (of the vectors an empty picture gives: none, but shaped)."""
        return int(self.model.extract(np.zeros((32, 32, 3), np.uint8)).embeddings.shape[1])


def load_model(source: ModelSource) -> LoadedModel:
    """A model file's path, or a model already loaded (saved to a temporary file to take its bytes)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        digest = fingerprint(path)  # reads and checks the file: a broken one is one clear error here
        return LoadedModel(path.read_bytes(), digest, str(path.resolve()), path=path)
    with tempfile.TemporaryDirectory() as folder:
        path = source.save(Path(folder) / "model.wt")
        return LoadedModel(path.read_bytes(), fingerprint(path), "(a model in memory)", loaded=source)


def load_model_bytes(data: bytes) -> Any:
    """A model from the bytes of its file (how Ray workers get it)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.wt"
        path.write_bytes(data)
        return load(path)


def fingerprint(path: Path) -> str:
    """SHA-256 of a model file's manifest and arrays: the same for the same model saved twice (a zip's
    bytes differ with its timestamps), different for any change of what it learned."""
    manifest, arrays = read_bundle(path)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode())
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def extract_files(model: Any, paths: Iterable[Path], keys: Mapping[Path, str], cache: Optional[EmbeddingCache],
                  progress: Optional[Callable[[int], None]] = None) -> Iterator[Subjects]:
    """Faces and vectors of many files, in order, batched (unreadable ones come out with `error` set)."""
    return model.extract_paths(paths, cache=cache, progress=progress, keys=keys)


def extract_bytes(model: Any, data: bytes, source: str, cache: Optional[EmbeddingCache]) -> tuple[str, Subjects]:
    """(content hash, faces and vectors) of one file's bytes, through the cache when there is one."""
    key = content_hash(data)
    identity = model.pipeline_identity
    cached = cache.get(key, identity) if cache is not None else None
    if cached is not None:
        return key, Subjects(source, cached[0], cached[1])
    try:
        subjects = model.extract(data)
    except ImageError as error:
        return key, Subjects(source, [], np.zeros((0, 0), np.float32), error=f"{source}: {error.reason}")
    if cache is not None:
        cache.put(key, identity, subjects.faces, subjects.embeddings)
    return key, Subjects(source, subjects.faces, subjects.embeddings)


def name_faces(model: Any, source: str, faces: list[Face], vectors: np.ndarray) -> Sequence[Prediction]:
    """The faces of one photo named, largest first (the order the model names them in and the index keeps), each
    with its `embedding` and its `probabilities` in the order of the model's classes."""
    if not faces:
        return ()
    return model.name_subjects(Subjects(source, faces, np.asarray(vectors, np.float32)))


def largest_face(model_file: Path, photo: Path) -> Optional[np.ndarray]:
    """The vector of the largest face in a photo by the model in `model_file`, or None when it has none. Raises
    `ImageError`."""
    subjects = load(model_file).extract(photo)
    if not subjects.faces:
        return None
    return np.asarray(subjects.embeddings[int(np.argmax([f.area for f in subjects.faces]))], np.float32)
