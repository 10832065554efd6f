"""The Python face of the collection tools: `index(model, collection)` builds or updates an index and returns an
`Index`, whose methods find, sort and group what it holds.

>>> import whosthat
>>> photos = whosthat.index("blackpink.wt", "~/Pictures")            # doctest: +SKIP
>>> [hit.path for hit in photos.find(name="jennie_kim", limit=3)]     # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

import numpy as np
import pyarrow.compute as pc

from whosthat.collection import corrections
from whosthat.collection.added import AddedFace, add_face
from whosthat.collection.corrections import CONFIRM, NOT, STRANGER, Correction
from whosthat.collection.defaults import DEFAULT_BATCH, DEFAULT_MIN_FACES, DEFAULT_UNSURE_BELOW
from whosthat.collection.export import ExportReport, export_people
from whosthat.collection.find import Hit, check_limit, find_like, find_named, find_unsure
from whosthat.collection.indexer import IndexReport, build_index, index_location
from whosthat.collection.job import Engine
from whosthat.collection.lock import IndexLock
from whosthat.collection.people import PeopleReport, group_people
from whosthat.collection.recognition import ModelSource, largest_face
from whosthat.collection.review import DEFAULT_LIMIT, ReviewItem, review_queue
from whosthat.collection.schema import Labeller, Manifest
from whosthat.collection.sort import SortReport, sort_index
from whosthat.collection.store import IndexStore
from whosthat.core.errors import WhosthatError

if TYPE_CHECKING:
    from whosthat.collection.learn import LearnReport

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class Summary:
    """What an index holds: photos, faces, faces per name, unreadable photos, the model that named them."""

    directory: Path
    collection: Path
    photos: int
    faces: int
    no_face: int
    unreadable: int
    names: dict[str, int]
    labeller: Labeller
    manifest: Manifest

    def to_dict(self) -> dict:
        return {"index": str(self.directory), "collection": str(self.collection), "photos": self.photos,
                "faces": self.faces, "photos_without_faces": self.no_face, "unreadable": self.unreadable,
                "faces_per_name": self.names, "model": self.labeller.source, "labelled": self.labeller.labelled,
                "members": list(self.labeller.classes), "pipeline": self.manifest.pipeline}


class Index:
    """An index of a collection's faces (`whosthat index`): open it by its folder, or by the collection folder
    that holds the default one."""

    def __init__(self, path: PathLike) -> None:
        self.store = IndexStore.open(Path(path).expanduser())
        self.last_run: Optional[IndexReport] = None

    @property
    def directory(self) -> Path:
        return self.store.directory

    @property
    def collection(self) -> Path:
        return Path(self.store.manifest.collection)

    @property
    def members(self) -> list[str]:
        """The names the index's model gives."""
        return list(self.store.labeller.classes)

    def summary(self) -> Summary:
        """What the index holds, each face counted under the name its corrections give it, if any."""
        resolved = corrections.resolve(corrections.read(self.store))
        faces = corrections.apply(self.store.scan(["content_hash", "face", "label"] if resolved else ["label"]),
                                  resolved)
        photos = self.store.photos(["faces", "error"])
        counted = pc.value_counts(faces["label"].combine_chunks()).to_pylist()
        names = Counter({c["values"]: c["counts"] for c in counted})
        unread = photos["error"].is_valid()
        return Summary(self.directory, self.collection, photos=photos.num_rows, faces=faces.num_rows,
                       no_face=pc.sum(pc.and_(pc.equal(photos["faces"], 0), pc.invert(unread))).as_py() or 0,
                       unreadable=pc.sum(unread).as_py() or 0, names=dict(names.most_common()),
                       labeller=self.store.labeller, manifest=self.store.manifest)

    def unreadable(self) -> list[str]:
        """The index's photos that could not be read, with why."""
        return self.store.photos(["error"], "error IS NOT NULL")["error"].to_pylist()

    def find(self, name: Union[str, Sequence[str], None] = None, *, unsure: bool = False,
             below: float = DEFAULT_UNSURE_BELOW, like: Optional[PathLike] = None,
             limit: Optional[int] = 20) -> list[Hit]:
        """Photos where `name` is named (a list: all of them in one photo), most confident first; with `unsure`,
        names with a probability under `below` (of `name` only, when given), least sure first; with `like`, the
        faces most like the largest face in that photo, whoever they are. limit: the most hits (None or 0: all;
        for `like`, 20); `below` must be a finite number, `limit` not negative."""
        check_limit(limit)
        names = [name] if isinstance(name, str) else list(name or [])
        if like is not None:
            if names or unsure:
                raise WhosthatError("find: `like` goes alone (not with a name or unsure)")
            return find_like(self.store, self._face_vector(Path(like)), limit or 20)
        if unsure:
            return find_unsure(self.store, below, names, limit)
        if not names:
            raise WhosthatError("find: say what to find (a name, unsure, or like)")
        return find_named(self.store, names, limit)

    def sort(self, into: PathLike, mode: str = "link") -> SortReport:
        """A folder per member and unknown/ in `into`, of links to (or copies of) the photos; sorting again removes
        only the links and copies it made and recorded (see `whosthat.collection.sort`)."""
        return sort_index(self.store, Path(into), mode)

    def people(self, *, distance: Optional[float] = None, min_faces: int = DEFAULT_MIN_FACES,
               restart: bool = False, wait: float = 0.0) -> PeopleReport:
        """Group the faces named as nobody of the group into candidate people (incrementally; `restart` groups
        them afresh). distance: cosine distance within which faces may be linked (default: chosen from the
        model's own training faces)."""
        with IndexLock(self.directory, wait=wait):
            return group_people(self.store, distance, min_faces, restart)

    def export_people(self, report: PeopleReport, into: PathLike, min_faces: int = 1) -> ExportReport:
        """Each person of `report` as a folder of face crops in `into` (person_001/...), to rename and train on; a
        face exported before is not exported again, even after its folder was renamed."""
        return export_people(report, Path(into), self.collection, min_faces)

    def confirm(self, photo: str, face: int, name: str, *, wait: float = 0.0) -> tuple[Correction, ...]:
        """Say that face `face` of `photo` (its path in the collection, or its content hash) is `name`: a member,
        or a new person. wait: seconds to wait for another run writing the index (then `IndexBusyError`)."""
        return self._record(photo, face, [(CONFIRM, corrections.check_name(name))], wait)

    def reject(self, photo: str, face: int, name: str, *, wait: float = 0.0) -> tuple[Correction, ...]:
        """Say that face `face` of `photo` is not `name` (it is then unknown, if that was its name)."""
        return self._record(photo, face, [(NOT, corrections.check_name(name))], wait)

    def stranger(self, photo: str, face: int, *, wait: float = 0.0) -> tuple[Correction, ...]:
        """Say that face `face` of `photo` is nobody of the group (unknown, and not to be asked about again)."""
        return self._record(photo, face, [(STRANGER, "")], wait)

    def move(self, photo: str, face: int, name: str, *, wait: float = 0.0) -> tuple[Correction, ...]:
        """Say that face `face` of `photo` is `name` and not the name it has now, as one action (one undo)."""
        name = corrections.check_name(name)
        return tuple(corrections.move(self.store, corrections.face_key(self.store, photo, face), face, name, wait))

    def add_face(self, photo: str, box: Sequence[float], name: str, *, wait: float = 0.0) -> AddedFace:
        """Add a face the detector missed: the one in `box` (x, y, width, height in pixels of the upright photo)
        of `photo` (its path in the collection, or its content hash), found and embedded by the index's model,
        as the photo's next face, confirmed as `name` (`whosthat.collection.added`). A box that is mostly a face
        the photo has already is refused (correct that face instead)."""
        added = add_face(self.store, photo, box, name, wait)
        self.store = IndexStore.open(self.directory)
        return added

    def undo(self, *, wait: float = 0.0) -> tuple[Correction, ...]:
        """Remove the last correction (all of a move) and return what it said; `CorrectionError` when none is
        left."""
        return tuple(corrections.undo(self.store, wait))

    def corrections(self) -> list[Correction]:
        """Every correction of the index, oldest first (two of one face: the later one decides)."""
        return corrections.corrections(self.store)

    def photo_paths(self, hashes: Collection[str]) -> dict[str, str]:
        """The path in the collection of each photo of these content hashes the index holds."""
        return corrections.photo_paths(self.store, hashes)

    def learn(self, out: PathLike, *, wait: float = 0.0) -> LearnReport:
        """Fit the index's model again from the corrections, write it to `out`, and name the index's faces with
        it, from their vectors (`whosthat.collection.learn`); `last_run` is that index run."""
        from whosthat.collection.learn import learn

        report = learn(self.directory, Path(out).expanduser(), wait=wait)
        self.store = IndexStore.open(self.directory)
        self.last_run = report.run
        return report

    def review_queue(self, limit: Optional[int] = DEFAULT_LIMIT) -> list[ReviewItem]:
        """The faces no correction speaks of whose answer would teach the model most, first: unsure names, faces
        between two members, names the collection doubted, each weighed by how many faces alike it would settle
        (`whosthat.collection.review`). limit: the most faces (None or 0: all)."""
        return review_queue(self.store, limit)

    def _record(self, photo: str, face: int, said: list[tuple[str, str]], wait: float) -> tuple[Correction, ...]:
        key = corrections.face_key(self.store, photo, face)
        return tuple(corrections.record(self.store, [(key, face, kind, name) for kind, name in said], wait))

    def _face_vector(self, photo: Path) -> np.ndarray:
        vector = largest_face(self.store.model_path(), photo)
        if vector is None:
            raise WhosthatError(f"{photo}: no face found to look for")
        return vector

    def __repr__(self) -> str:
        return f"Index({str(self.directory)!r}, collection={str(self.collection)!r})"


def index(model: ModelSource, collection: Optional[PathLike] = None, *, index: Optional[PathLike] = None,
          relabel: bool = False, engine: Union[str, Engine] = "local", cache_dir: Optional[PathLike] = None,
          use_cache: bool = True, batch: int = DEFAULT_BATCH, wait: float = 0.0,
          progress: Optional[Callable[[int], Callable[[int], None]]] = None, check: bool = True) -> Index:
    """Index the faces of every photo under `collection` with `model` (a model file or a loaded model), or bring
    the index up to date, and return it (`Index.last_run` says what the run did). See `whosthat index --help`.

    index: the index folder (default: COLLECTION/.whosthat-index; with an existing index, `collection` may be
    left out). relabel: name the stored faces with this model if another one labelled them. engine: "local" or
    "ray". cache_dir / use_cache: the embedding cache shared with training (default: the user's cache folder).
    check: check every name against the collection after a run that changed anything
    (`whosthat.collection.consensus`); False keeps each face's name as the model gives it on its own.
    """
    from whosthat.vision.cache import default_cache_dir

    collection_path = Path(collection).expanduser() if collection is not None else None
    directory = index_location(collection_path, Path(index).expanduser() if index is not None else None)
    cache = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) if use_cache else None
    report = build_index(model, collection_path, directory, relabel=relabel, engine=engine, cache_dir=cache,
                         batch=batch, wait=wait, progress=progress, check=check)
    opened = Index(directory)
    opened.last_run = report
    return opened
