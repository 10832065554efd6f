"""Image -> subjects -> embeddings, for one image or many, with the cache and batching."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.errors import ImageError
from whosthat.vision.cache import EmbeddingCache, content_hash
from whosthat.vision.detectors.base import Detector
from whosthat.vision.embedders.base import Embedder
from whosthat.vision.face import Face
from whosthat.vision.images import ImageSource, load_image


@dataclass
class Subjects:
    """The subjects found in one image and their embeddings (n, dim); `error` when it could not be read.

    width and height are those of the upright image, or 0 when it came from the cache unopened.
    """

    source: str
    faces: list[Face]
    embeddings: np.ndarray
    width: int = 0
    height: int = 0
    error: Optional[str] = None
    image: Optional[np.ndarray] = None


def detect_cached(detector: Detector, image: np.ndarray, key: str, cache: Optional[EmbeddingCache]) -> list[Face]:
    """The detector's faces in an image whose content hash is `key`, from the cache when this detector
    already looked at it (for another embedder, or for fine-tuning), else detected and cached."""
    cached = cache.get_faces(key, detector.identity) if cache is not None else None
    if cached is not None:
        return cached
    faces = detector.detect(image)
    if cache is not None:
        cache.put_faces(key, detector.identity, faces)
    return faces


class Extractor:
    """Runs a detector and an embedder over images; decoding and detection run in worker threads."""

    def __init__(self, detector: Detector, embedder: Embedder, workers: Optional[int] = None,
                 batch_size: int = 32) -> None:
        self.detector = detector
        self.embedder = embedder
        self.workers = workers or min(4, os.cpu_count() or 1)
        self.batch_size = batch_size

    @property
    def identity(self) -> str:
        """What the cached results depend on: detector and embedder with their settings and versions."""
        return f"{self.detector.identity}|{self.embedder.identity}"

    def extract(self, source: ImageSource, *, keep_image: bool = False) -> Subjects:
        """Subjects of one image (no cache: for predictions on new photos). Raises `ImageError`."""
        image = load_image(source)
        faces = self.detector.detect(image)
        embeddings = self.embedder.embed(self.embedder.chips(image, faces))
        return Subjects(_name(source), faces, embeddings, image.shape[1], image.shape[0],
                        image=image if keep_image else None)

    def extract_paths(self, paths: Iterable[Path], *, cache: Optional[EmbeddingCache] = None,
                      progress: Optional[Callable[[int], None]] = None,
                      keys: Optional[Mapping[Path, str]] = None, keep_images: bool = False) -> Iterator[Subjects]:
        """Subjects of many image files, in order, from `cache` where possible (and stored in it).

        Unreadable files come out with `error` set; the others go on. `progress(n)` is called as
        images finish. `keys`: content hashes already taken (`dataset.content_keys`), so that a
        cached image is not read again. keep_images: each image decoded goes out with its subjects
        (to draw on; the cache is then not read, so that every image is decoded).
        """
        identity = self.identity
        paths = list(paths)
        keys = keys or {}
        with ThreadPoolExecutor(self.workers) as pool:
            prepared = _bounded_map(pool, lambda p: self._prepare(p, identity, cache, keys.get(p), keep_images),
                                    paths, ahead=4 * self.batch_size)
            pending: list[_Prepared] = []
            queued = 0
            for ready in prepared:
                pending.append(ready)
                queued += len(ready.chips)
                if queued >= self.batch_size:
                    yield from self._flush(pending, identity, cache, progress)
                    pending, queued = [], 0
            yield from self._flush(pending, identity, cache, progress)

    def _prepare(self, path: Path, identity: str, cache: Optional[EmbeddingCache], key: Optional[str] = None,
                 keep_image: bool = False) -> _Prepared:
        """Read and hash (unless `key` is given), look up; on a miss decode, detect and cut chips (runs in a
        worker thread)."""
        data = None
        try:
            if key is None:
                data = path.read_bytes()
                key = content_hash(data)
            cached = cache.get(key, identity) if cache and not keep_image else None
            if cached is not None:
                return _Prepared(Subjects(str(path), cached[0], cached[1]))
            if data is None:
                data = path.read_bytes()
                key = content_hash(data)
        except OSError as error:
            return _Prepared(Subjects(str(path), [], self._empty(), error=f"{path}: cannot be read ({error.strerror})"))
        try:
            image = load_image(data)
        except ImageError as error:
            return _Prepared(Subjects(str(path), [], self._empty(), error=f"{path}: {error.reason}"))
        faces = detect_cached(self.detector, image, key, cache)
        chips = self.embedder.chips(image, faces)
        return _Prepared(Subjects(str(path), faces, self._empty(), image.shape[1], image.shape[0],
                                  image=image if keep_image else None), key, chips)

    def _flush(self, pending: list[_Prepared], identity: str, cache: Optional[EmbeddingCache],
               progress: Optional[Callable[[int], None]]) -> Iterator[Subjects]:
        """Embed the queued chips in one batch, fill in and cache each image, and yield them."""
        chips = [chip for ready in pending for chip in ready.chips]
        vectors = self.embedder.embed(chips) if chips else self._empty()
        start = 0
        for ready in pending:
            subjects = ready.subjects
            if ready.key is not None:
                subjects.embeddings = vectors[start:start + len(ready.chips)]
                start += len(ready.chips)
                if cache is not None:
                    cache.put(ready.key, identity, subjects.faces, subjects.embeddings)
            if progress:
                progress(1)
            yield subjects

    def _empty(self) -> np.ndarray:
        return np.zeros((0, self.embedder.dim), np.float32)


def _bounded_map(pool: ThreadPoolExecutor, function: Callable, items: list, ahead: int) -> Iterator:
    """`pool.map` that keeps at most `ahead` results waiting, so chips of a large collection are
    not all held in memory while the embedder catches up."""
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(function, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _name(source: ImageSource) -> str:
    return str(source) if isinstance(source, (str, os.PathLike)) else "<image>"


@dataclass
class _Prepared:
    """One image made ready to embed: its subjects (complete as they are when `key` is None: found in the cache,
    or unreadable), and for an image to embed its content hash and its faces' chips."""

    subjects: Subjects
    key: Optional[str] = None
    chips: list = field(default_factory=list)
