"""`build_index`: bring a collection's index up to date with a model, incrementally and resumably.

A run compares the collection with the index by path, size and modification time: unchanged photos are
not read, deleted and changed ones are dropped, and the new and changed ones are recognised by an
engine and committed a batch of whole photos at a time. A photo whose bytes could not be read (no
permission) is read again on every run until it can be; the photos of a folder that cannot be opened
now are kept, and the run lists the folder as unreadable. The embedding cache (the training cache) is
read and filled on the way, so photos a model was trained on, or that were moved, are not embedded
again. A model that is not the one that labelled the index names the stored faces again from their
vectors (`relabel`), without detecting or embedding, when its detector and embedder are the same.

After a run that changed anything, each face's name (given face by face) is checked against the whole
collection (`whosthat.collection.consensus`): a name the faces around it do not lead to becomes
"unknown". `check=False` keeps the names face by face, as does an index of more than `consensus.MAX_FACES`
faces (the run reports it).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection.consensus import MAX_FACES, check_names
from whosthat.collection.defaults import DEFAULT_BATCH
from whosthat.collection.job import ENGINES, Engine, EngineJob
from whosthat.collection.lock import IndexLock
from whosthat.collection.recognition import LoadedModel, ModelSource, load_model
from whosthat.collection.rows import fixed, matrix, sources, split
from whosthat.collection.scan import PhotoFile, Scan, scan_collection
from whosthat.collection.schema import (
    DEFAULT_FOLDER,
    MANIFEST,
    IndexFileError,
    Labeller,
    Manifest,
    model_file_name,
)
from whosthat.collection.store import IndexStore, begin_index, now
from whosthat.core.errors import WhosthatError
from whosthat.recognition.assign import UNKNOWN, assign_labels
from whosthat.recognition.prediction import UNKNOWN_LABEL

#: Faces named at once when stored faces are named again (one call of the model's head for them all).
NAMING_BATCH = 65_536
#: The least probability of a member a face may be given (`assign_labels`'s own).
MIN_PROBABILITY = float(inspect.signature(assign_labels).parameters["min_probability"].default)


@dataclass(frozen=True)
class IndexReport:
    """What one run did, and what the index holds after it."""

    directory: Path
    collection: Path
    engine: str
    photos: int
    faces: int
    added: int
    changed: int
    removed: int
    unchanged: int
    relabelled: int
    seconds: float
    unreadable: tuple[str, ...] = ()
    vanished: tuple[str, ...] = ()
    unreadable_folders: tuple[str, ...] = ()
    unreadable_in_index: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    doubted: int = 0
    """Faces the model named on their own that the collection check (`consensus`) calls unknown."""
    unchecked: int = 0
    """Faces left named face by face because the index holds more than the check takes (`consensus.MAX_FACES`)."""

    @property
    def photos_per_second(self) -> float:
        """Photos recognised per second of the recognising (0 when none were)."""
        spent = self.timings.get("recognise", 0.0)
        return (self.added + self.changed) / spent if spent > 0 else 0.0


def index_location(collection: Optional[Path], index: Optional[Path]) -> Path:
    """The index folder: `index`, else the default one inside the collection."""
    if index is not None:
        return Path(index)
    if collection is None:
        raise WhosthatError("say which collection to index (COLLECTION) or which index (--index DIR)")
    return Path(collection) / DEFAULT_FOLDER


def build_index(model: ModelSource, collection: Optional[Path] = None, index: Optional[Path] = None, *,
                relabel: bool = False, engine: str | Engine = "local", cache_dir: Optional[Path] = None,
                batch: int = DEFAULT_BATCH, wait: float = 0.0, progress: Optional[Callable[[int], Callable]] = None,
                check: bool = True) -> IndexReport:
    """Index (or bring up to date) the faces of every photo under `collection` in the index folder `index`
    (default: COLLECTION/.whosthat-index). See the module for what a run does.

    model: a model file or a loaded model. relabel: let a model other than the index's name its stored
    faces again (same detector and embedder). engine: "local", "ray" or an engine object. cache_dir: the
    embedding cache (None: none). wait: seconds to wait for another run writing the index (0: refuse).
    progress(total) returns a callback called with the number of photos done as they finish. check: after a run
    that changed anything, check the names against the collection (see the module).
    Raises `WhosthatError` subclasses for every problem a user can cause, before writing anything (but the
    marker of a new index, `begin_index`, and its lock).
    """
    started = time.perf_counter()
    directory = index_location(collection, index)
    engine = ENGINES.create(engine) if isinstance(engine, str) else engine
    timings: dict[str, float] = {}
    loaded = load_model(model)
    if not (directory / MANIFEST).is_file():
        _new_collection(collection)
        begin_index(directory)  # checked, and marked as whosthat's before the lock or anything else is written
    with IndexLock(directory, wait=wait):
        # Looked at again under the lock: a run this one waited for may have made the index meanwhile.
        store = IndexStore(directory, locked=True) if (directory / MANIFEST).is_file() else None
        root = _collection_root(collection, store)
        relabelled, doubted = 0, 0
        if store is None:
            store = _create(directory, root, loaded)
        store.clean()
        if store.labeller.fingerprint != loaded.fingerprint:
            _check_pipeline(store, loaded)
            if not relabel:
                raise IndexFileError(
                    f"{directory}: labelled by another model ({store.labeller.source}); to name its faces with "
                    f"this one, add --relabel (its faces and vectors are kept, only the names change)")
            tick = time.perf_counter()
            relabelled, doubted = relabel_index(store, loaded, check=check and store.count() <= MAX_FACES)
            timings["relabel"] = time.perf_counter() - tick
        tick = time.perf_counter()
        scanned = scan_collection(root, skip=(directory,))
        files = scanned.photos
        stored = {row["path"]: row for row in store.photos().to_pylist()}
        removed = _removed(stored, scanned)
        changed = [p for p in files if p.name in stored and _changed(stored[p.name], p)]
        new = [p for p in files if p.name not in stored]
        store.delete(removed + [p.name for p in changed])
        timings["scan"] = time.perf_counter() - tick
        tick = time.perf_counter()
        todo = changed + new
        unreadable, vanished = [str(folder) for folder in scanned.unreadable], []
        if todo:
            _check_pipeline(store, loaded)  # the weights may have been upgraded since: their vectors would not match
            job = EngineJob(loaded, store.manifest.dim, todo, cache_dir, batch,
                            progress(len(todo)) if progress else None)
            for photos, faces, errors, gone in _recognised(engine, job, store.table.schema):
                store.append(photos, faces)
                unreadable += errors
                vanished += gone
        timings["recognise"] = time.perf_counter() - tick
        faces = store.count()
        if check and (todo or removed) and not relabelled and 0 < faces <= MAX_FACES:
            tick = time.perf_counter()
            doubted = check_index(store, loaded.model)
            timings["check"] = time.perf_counter() - tick
        if todo or removed or relabelled:
            tick = time.perf_counter()
            store.tidy()
            timings["tidy"] = time.perf_counter() - tick
        return IndexReport(
            directory=directory, collection=root, engine=engine.name, photos=store.count_photos(),
            faces=faces, added=len(new), changed=len(changed), removed=len(removed),
            unchanged=len(files) - len(todo), relabelled=relabelled, seconds=time.perf_counter() - started,
            unreadable=tuple(unreadable), vanished=tuple(vanished),
            unreadable_folders=tuple(folder.name for folder in scanned.unreadable),
            unreadable_in_index=store.count_photos("error IS NOT NULL"), timings=timings, doubted=doubted,
            unchecked=faces if check and (todo or removed or relabelled) and faces > MAX_FACES else 0)


def relabel_index(store: IndexStore, loaded: LoadedModel, *, check: bool = True) -> tuple[int, int]:
    """Name every stored face again with `loaded` (from the stored vectors; with `check`, checked against the
    collection) and record it as the index's model, in one commit; returns the number of photos and of faces
    the check called unknown."""
    model_file = store.save_model(loaded.data, loaded.fingerprint)
    names = _stored_names(store, loaded.model, check=check)
    columns = store.table.schema.names

    def rows() -> Iterator[pa.RecordBatch]:
        start = 0
        for faces in store.batches(columns):
            end = start + faces.num_rows
            yield _with_names(faces, names.checked[start:end], names.confidences[start:end],
                              names.probabilities[start:end])
            start = end

    store.replace_all(rows(), _labeller(loaded, model_file))
    store.forget_models()
    return store.count_photos(), names.doubted


def check_index(store: IndexStore, model: Any) -> int:
    """Check every stored name against the collection (see the module), rewriting the faces of just the photos
    whose names change, in one commit; returns the number of faces the check calls unknown."""
    names = _stored_names(store, model, check=True)
    changed = names.checked != names.stored
    if not changed.any():
        return names.doubted
    columns, kept, start = store.table.schema.names, [], 0
    for faces in _photos_whole(store.batches(columns)):
        end = start + faces.num_rows
        paths = np.asarray(faces["path"].to_pylist(), dtype=object)
        photos = set(paths[changed[start:end]].tolist())
        if photos:
            whole = np.array([path in photos for path in paths])
            rows = faces.filter(pa.array(whole))
            kept.append(rows.set_column(rows.schema.get_field_index("label"), "label",
                                        pa.array(names.checked[start:end][whole].tolist(), pa.string())))
        start = end
    store.update_photos(pa.Table.from_batches(kept))
    return names.doubted


@dataclass(frozen=True)
class _StoredNames:
    """The stored faces' names, in stored order: as stored, given face by face by the model, and checked (the
    same without the check); their confidences and probabilities; and how many the check calls unknown."""

    stored: np.ndarray
    alone: np.ndarray
    checked: np.ndarray
    confidences: np.ndarray
    probabilities: np.ndarray

    @property
    def doubted(self) -> int:
        return int(np.sum(self.checked != self.alone))


@dataclass(frozen=True)
class _Named:
    """Faces named from their vectors, in stored order: names, confidences, (n, classes) probabilities."""

    labels: np.ndarray
    confidences: np.ndarray
    probabilities: np.ndarray


def _stored_names(store: IndexStore, model: Any, *, check: bool) -> _StoredNames:
    """Every stored face named from its vector by `model`, face by face, then (with `check`) checked against the
    collection (`consensus.check_names`)."""
    dim = store.manifest.dim
    stored, named, vectors = [], [], []
    for faces in _photos_whole(store.batches(["path", "box", "vector", "label"], NAMING_BATCH)):
        batch_vectors = matrix(faces["vector"], dim)
        named.append(_named_photos(model, faces, batch_vectors))
        stored.append(faces["label"].to_numpy(zero_copy_only=False))
        if check:
            vectors.append(batch_vectors)
    classes = len(model.classes)
    names = np.concatenate([n.labels for n in named]) if named else np.zeros(0, object)
    checked = check_names(model, np.vstack(vectors), names) if check and vectors else names
    return _StoredNames(np.concatenate(stored) if stored else np.zeros(0, object), names, checked,
                        np.concatenate([n.confidences for n in named]) if named else np.zeros(0, np.float32),
                        np.vstack([n.probabilities for n in named]) if named else np.zeros((0, classes), np.float32))


def _with_names(faces: pa.RecordBatch, labels: np.ndarray, confidences: np.ndarray, probabilities: np.ndarray
                ) -> pa.RecordBatch:
    """A batch of faces with these names, confidences and probabilities."""
    width = probabilities.shape[1] if faces.num_rows else 0
    return faces.set_column(faces.schema.get_field_index("label"), "label", pa.array(labels.tolist(), pa.string())) \
        .set_column(faces.schema.get_field_index("confidence"), "confidence", pa.array(confidences)) \
        .set_column(faces.schema.get_field_index("probabilities"), "probabilities",
                    fixed(probabilities, width).cast(pa.list_(pa.float32())))


def _named_photos(model: Any, faces: pa.RecordBatch, vectors: np.ndarray) -> _Named:
    """The faces of a batch of whole photos named by `model` from their vectors as `name_faces` names each photo
    (largest face first, a member to at most one face of a photo), with one call of the model's head for the
    whole batch: the faces put in that order first, and the photos of several faces assigned one by one."""
    n = faces.num_rows
    boxes = matrix(faces["box"], 4)
    area = np.maximum(0.0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0.0, boxes[:, 3] - boxes[:, 1])
    paths = faces["path"]
    starts = np.flatnonzero(np.r_[True, pc.not_equal(paths[1:], paths[:-1]).to_numpy(zero_copy_only=False)]) \
        if n else np.zeros(0, np.int64)
    photo = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    evidence = model.evidence(vectors[np.lexsort((-area, photo))])
    probabilities = np.asarray(evidence.probabilities)
    accepted = np.asarray(evidence.stranger) >= model.threshold
    best = probabilities.argmax(axis=1) if n else np.zeros(0, np.int64)
    top = probabilities[np.arange(n), best]
    label = np.where(accepted[np.arange(n), best], best, UNKNOWN)
    sizes = np.diff(np.r_[starts, n])
    # A photo of one face takes its best class when accepted and of probability over the least (`assign_labels`);
    # the others go through the assignment itself.
    alone = (sizes == 1) & (top[starts] > MIN_PROBABILITY)
    for start, size in zip(starts[~alone], sizes[~alone]):
        label[start:start + size] = assign_labels(probabilities[start:start + size], accepted[start:start + size])
    classes = np.array([*model.classes, UNKNOWN_LABEL], dtype=object)
    confidence = np.where(label == UNKNOWN, 1.0 - top, probabilities[np.arange(n), np.maximum(label, 0)])
    return _Named(classes[label], confidence.astype(np.float32), probabilities.astype(np.float32))


def _photos_whole(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The faces batch by batch, each photo's faces in one batch (they are stored together, but a batch may end
    inside a photo: its last photo's faces wait for the next batch)."""
    held: Optional[pa.RecordBatch] = None
    for batch in batches:
        if held is not None:
            batch = pa.Table.from_batches([held, batch]).combine_chunks().to_batches()[0]
        paths = batch["path"]
        cut = len(paths)
        while cut > 0 and paths[cut - 1] == paths[len(paths) - 1]:
            cut -= 1
        held = batch.slice(cut)
        if cut:
            yield batch.slice(0, cut)
    if held is not None and held.num_rows:
        yield held


def _recognised(engine: Engine, job: EngineJob, schema: pa.Schema
                ) -> Iterator[tuple[pa.Table, pa.Table, list[str], list[str]]]:
    """Each engine batch as photos and faces rows, with the errors met and the photos deleted while the run went on
    (those get no row: the next run does not find them either)."""
    files = {str(p.path): p for p in job.photos}
    for recognised in engine.recognise(job):
        failed = [(s, e) for s, e in zip(sources(recognised), recognised["error"].to_pylist()) if e is not None]
        gone = {s for s, _ in failed if not Path(s).exists()}
        if gone:
            kept = pa.array([s not in gone for s in sources(recognised)], pa.bool_())
            recognised = recognised.filter(kept)
        photos, faces = split(recognised, files, schema)
        yield photos, faces, [e for s, e in failed if s not in gone], sorted(files[g].name for g in gone)


def _new_collection(collection: Optional[Path]) -> Path:
    """The folder a new index is of, checked before anything is written."""
    if collection is None:
        raise WhosthatError("a new index needs the COLLECTION folder it indexes")
    root = Path(collection)
    if not root.exists():
        raise IndexFileError(f"{root}: no such collection folder")
    if not root.is_dir():
        raise IndexFileError(f"{root}: is a file, not a folder of photos")
    return root.resolve()


def _collection_root(collection: Optional[Path], store: Optional[IndexStore]) -> Path:
    if store is None:
        return _new_collection(collection)
    recorded = Path(store.manifest.collection)
    if collection is not None and Path(collection).resolve() != recorded:
        raise IndexFileError(f"{store.directory}: is the index of {recorded}, not of {Path(collection).resolve()}; "
                             "give another --index for this collection")
    return recorded


def _create(directory: Path, root: Path, loaded: LoadedModel) -> IndexStore:
    manifest = Manifest(collection=str(root), pipeline=loaded.pipeline, dim=loaded.dim(), created=now())
    labeller = _labeller(loaded, model_file_name(loaded.fingerprint))
    return IndexStore.create(directory, manifest, labeller, loaded.data)


def _check_pipeline(store: IndexStore, loaded: LoadedModel) -> None:
    if store.manifest.pipeline != loaded.pipeline:
        raise IndexFileError(
            f"{store.directory}: its faces were found and embedded by another pipeline ({store.manifest.pipeline}) "
            f"than this model's ({loaded.pipeline}): they cannot be relabelled; index into a new --index folder")


def _labeller(loaded: LoadedModel, model_file: str) -> Labeller:
    return Labeller(fingerprint=loaded.fingerprint, model_file=model_file, source=loaded.source,
                    classes=loaded.classes, threshold=loaded.threshold, labelled=now())


def _removed(stored: dict[str, dict], scanned: Scan) -> list[str]:
    """The stored photos no longer in the collection; those in a folder that could not be read may be there still,
    and are kept."""
    on_disk = {photo.name for photo in scanned.photos}
    return [name for name in stored if name not in on_disk and not scanned.under_unreadable(name)]


def _changed(stored: dict, photo: PhotoFile) -> bool:
    """Size or mtime differ, or its bytes could not be read last time (no content hash): a file whose permission
    was given back keeps its mtime."""
    unread = stored["error"] is not None and not stored["content_hash"]
    return unread or stored["size"] != photo.size or stored["mtime_ns"] != photo.mtime_ns
