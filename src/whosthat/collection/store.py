"""`IndexStore`: the index folder on disk, its manifest and its LanceDB tables (photos, faces), read and written
safely.

Every write is one LanceDB commit per table (a new table version): an append of whole photos, a delete, or a
relabelling that replaces every face. A run killed or out of disk space midway leaves each table at its last
commit, which readers keep seeing; the files of the unfinished write are never referenced.

The two tables agree because of the order of their commits: a photo's faces are appended before its photos row,
and deleted after it, so a photos row means that all its faces are there. Faces without a photos row (a batch
between its two commits, or a run killed between them) are not part of the index: readers leave them out (`scan`
reads the faces, then the photos rows of their paths, and keeps the faces whose row is there), and a writer
deletes them before it writes (`clean`), so that a photo added again gets its faces once.

An index of an older format is upgraded when it is opened (`whosthat.collection.migrate`).

Nothing of the user's is taken or deleted: a new index is made only in an empty folder or one whosthat began
(`begin_index`), and a model copy is deleted only when `models.json` records it and its bytes are still the
ones written. A damaged table (a data file truncated or removed) is one `IndexFileError` on every read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from whosthat.collection.lock import LOCK_FILE, IndexLock
from whosthat.collection.migrate import needs_upgrade, upgrade
from whosthat.collection.schema import (
    CREATING,
    DEFAULT_FOLDER,
    FACES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MODELS_RECORD,
    PHOTOS,
    IndexFileError,
    IndexWriteError,
    Labeller,
    Manifest,
    face_schema,
    model_file_name,
    photo_schema,
)
from whosthat.core.files import file_digest, is_temporary, write_atomically
from whosthat.core.paths import inside

#: Rows from which the vector column gets an approximate-nearest-neighbour index (below: exact search).
ANN_MIN_ROWS = 100_000
#: Share of the IVF_PQ partitions (the square root of the rows) a search looks in, and candidates re-ranked
#: exactly (x the limit): chosen for a recall@10 of at least 0.95 against exact search (bench/README.md).
PROBED = 0.5
REFINE_FACTOR = 30


def probes(rows: int) -> int:
    """IVF partitions to search in a table of `rows` (its index was built with about the square root of that)."""
    return max(1, int(PROBED * np.sqrt(rows)))
#: Names per delete commit (the predicate is a SQL IN list).
DELETE_CHUNK = 1000
#: Old table versions are kept this long after a newer one, for readers that opened them.
KEEP_VERSIONS = timedelta(minutes=10)
PHOTO_COLUMNS = ["path", "content_hash", "size", "mtime_ns", "faces", "error"]
#: What an index folder holds while it is made (and temporary files, `.NAME.*.tmp`): `check_new_folder`.
OWN_FILES = {CREATING, LOCK_FILE, "models", MODELS_RECORD, f"{PHOTOS}.lance", f"{FACES}.lance"}
#: Seconds an open waits for another run's lock before upgrading an index of an older format.
UPGRADE_WAIT = 60.0
#: What a damaged table raises on reading: Arrow errors (ArrowInvalid is a ValueError), Lance's RuntimeError.
READ_ERRORS = (pa.ArrowException, OSError, RuntimeError, ValueError)


def now() -> str:
    """The time, for the records of an index (UTC, ISO 8601, seconds)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def locate(path: Path) -> Path:
    """The index folder `path` names: the folder itself, or the default index inside a collection folder."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path
    if (path / DEFAULT_FOLDER / MANIFEST).is_file():
        return path / DEFAULT_FOLDER
    if not path.exists():
        raise IndexFileError(f"{path}: no such index (build one with `whosthat index MODEL COLLECTION`)")
    if not path.is_dir():
        raise IndexFileError(f"{path}: is a file, not an index folder")
    raise IndexFileError(f"{path}: not a whosthat index (no {MANIFEST}, and no {DEFAULT_FOLDER}/ inside): "
                         "build one with `whosthat index MODEL COLLECTION`")


def read_manifest(directory: Path) -> Manifest:
    """index.json, checked: a foreign or newer file is one clear error."""
    path = directory / MANIFEST
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexFileError(f"{directory}: not a whosthat index (no {MANIFEST})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IndexFileError(f"{path}: unreadable index manifest ({error})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise IndexFileError(f"{directory}: not a whosthat index ({MANIFEST} is not of format {FORMAT!r})")
    version = record.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise IndexFileError(f"{directory}: index format {version} is newer than this whosthat reads "
                             f"({FORMAT_VERSION}): upgrade whosthat")
    try:
        return Manifest(**record)
    except TypeError as error:
        raise IndexFileError(f"{path}: corrupt index manifest ({error})") from None



def written_state(directory: Path) -> tuple[tuple[str, ...], ...]:
    """What changes with every commit to the index in `directory`: the manifest's size and time, and the version
    files of each of its tables (a new version adds one, a table made adds its folder); names, not times, so
    that two commits within one tick of the file system's clock still differ. For readers that keep an index
    open between questions (`serve`) and open it again when it changed. Raises `IndexFileError` when the
    folder is no longer an index."""
    directory = Path(directory)
    try:
        manifest = (directory / MANIFEST).stat()
        tables = sorted(entry.name for entry in os.scandir(directory) if entry.name.endswith(".lance"))
        return ((str(manifest.st_size), str(manifest.st_mtime_ns)),
                *((name, *sorted(os.listdir(directory / name / "_versions"))) for name in tables))
    except OSError as error:
        raise IndexFileError(f"{directory}: not a whosthat index any more ({_reason(error)})") from None

def check_new_folder(directory: Path) -> None:
    """A folder a new index may be made in: new, empty, or begun by whosthat (it holds the `CREATING` marker and
    only whosthat's files: a creation that was interrupted, or that another run is making now). A user's
    `models/` or `faces.lance` without the marker is theirs, and refused."""
    directory = Path(directory)
    if directory.is_file():
        raise IndexFileError(f"{directory}: is a file, not an index folder")
    try:
        names = {p.name for p in directory.iterdir()} if directory.is_dir() else set()
    except OSError as error:
        raise IndexFileError(f"{directory}: cannot be read ({_reason(error)})") from None
    if names and not (CREATING in names and all(n in OWN_FILES or is_temporary(n) for n in names)):
        raise IndexFileError(f"{directory}: exists and is not a whosthat index; choose a new or empty folder")


def begin_index(directory: Path) -> None:
    """Check `directory` for a new index (`check_new_folder`) and mark it as begun by whosthat: the marker is the
    first file written in it (kept when it is there already: an interrupted creation, or another run's)."""
    check_new_folder(directory)
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        os.close(os.open(Path(directory) / CREATING, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        pass
    except OSError as error:
        raise IndexWriteError(f"{directory}: cannot be written ({_reason(error)}); give an index folder where you "
                              "can write with --index DIR") from None


def sql_text(value: str) -> str:
    """A string literal for a LanceDB filter."""
    return "'" + value.replace("'", "''") + "'"


class IndexStore:
    """An open index: `manifest`, `labeller`, its `photos` and faces (`table`) tables, and the model copies under
    `models/`."""

    def __init__(self, directory: Path, locked: bool = False) -> None:
        """Open the index in `directory`, upgraded first when it is of an older format (under its lock, taken
        unless `locked` says the caller holds it)."""
        lancedb = _lancedb()

        self.directory = Path(directory)
        self._indexed_at: Optional[tuple[int, int]] = None
        self.manifest = read_manifest(self.directory)
        if needs_upgrade(self.directory, self.manifest):
            self._upgrade(locked)
        try:
            self._db = lancedb.connect(str(self.directory))
            self.photo_table = self._db.open_table(PHOTOS)
            self.table = self._db.open_table(FACES)
            self.labeller = Labeller.from_metadata(self.table.schema.metadata)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    @classmethod
    def open(cls, path: Path) -> IndexStore:
        """The index at `path` (an index folder, or a collection folder holding the default one)."""
        return cls(locate(path))

    @classmethod
    def create(cls, directory: Path, manifest: Manifest, labeller: Labeller, model: bytes) -> IndexStore:
        """A new, empty index in `directory` (new, empty or begun by whosthat: `begin_index`), with a copy of the
        model that labels it. The manifest is written last: a folder without it is not an index, and an
        interrupted creation is made again; the marker of the creation goes once the manifest is there."""
        lancedb = _lancedb()
        directory = Path(directory)
        target = inside(directory, labeller.model_file)  # a name of the model's record: it stays in the index
        begin_index(directory)
        try:
            _keep_copy(directory, labeller.model_file, target, model, {})
            db = lancedb.connect(str(directory))
            db.create_table(FACES, schema=face_schema(manifest.dim, labeller), mode="overwrite")
            db.create_table(PHOTOS, schema=photo_schema(), mode="overwrite")
            write_atomically(directory / MANIFEST, manifest.to_json().encode())
            (directory / CREATING).unlink(missing_ok=True)
        except (OSError, RuntimeError, ValueError) as error:
            raise IndexWriteError(f"{directory}: cannot create the index ({_reason(error)})") from None
        return cls(directory)

    # Reading.

    def scan(self, columns: Sequence[str], where: Optional[str] = None) -> pa.Table:
        """Columns of the faces that match a LanceDB filter (all without one), of the photos in the index; a
        column of the photos table (size, mtime_ns, faces, error) comes with each face from its photo's row."""
        wanted = list(columns)
        own = [c for c in wanted if c in self.table.schema.names]
        photo_columns = [c for c in wanted if c not in own]
        if not photo_columns and self._all_indexed():
            return self._read(self.table, own, where).select(wanted)
        faces = self._read(self.table, list(dict.fromkeys([*own, "path"])), where)
        return self._indexed(faces, photo_columns).select(wanted)

    def photos(self, columns: Sequence[str] = PHOTO_COLUMNS, where: Optional[str] = None) -> pa.Table:
        """Columns of the photos that match a LanceDB filter (all without one): path, content hash, size, mtime,
        number of faces, error."""
        return self._read(self.photo_table, columns, where)

    def batches(self, columns: Sequence[str], batch_size: int = 8192) -> Iterator[pa.RecordBatch]:
        """Every face, in the order written (so a photo's faces come together), a batch at a time (under the lock,
        after `clean`: every face's photo is in the index)."""
        try:
            yield from self.table.to_lance().to_batches(columns=list(columns), batch_size=batch_size,
                                                        scan_in_order=True)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    def count(self, where: Optional[str] = None) -> int:
        """Faces that match a LanceDB filter (all without one)."""
        try:
            return self.table.count_rows(where)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    def count_photos(self, where: Optional[str] = None) -> int:
        """Photos that match a LanceDB filter (all without one)."""
        try:
            return self.photo_table.count_rows(where)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    def nearest(self, vector: np.ndarray, k: int, columns: Sequence[str], where: Optional[str] = None) -> pa.Table:
        """The k faces closest to `vector` by cosine distance (exact below ANN_MIN_ROWS rows, else IVF-PQ
        with refinement), with a `_distance` column."""
        wanted = [*columns, "_distance"]
        query = (self.table.search(np.asarray(vector, np.float32), vector_column_name="vector").metric("cosine")
                 .select([*columns, *(["path"] if "path" not in columns else [])]).limit(k))
        if where is not None:
            query = query.where(where, prefilter=True)
        try:
            if self._has_vector_index():
                query = query.nprobes(probes(self.table.count_rows())).refine_factor(REFINE_FACTOR)
            return self._indexed(query.to_arrow()).select(wanted)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    def tables(self) -> list[str]:
        """The tables of the index (photos, faces, and people once grouped)."""
        return list(self._db.list_tables().tables)

    def other_table(self, name: str) -> Any:
        """Another table of the index (people)."""
        return self._db.open_table(name)

    def model_path(self) -> Path:
        """The copy of the model that labelled the index (its name is read from the index: kept inside it)."""
        return inside(self.directory, self.labeller.model_file)

    # Writing (hold an IndexLock).

    def append(self, photos: pa.Table, faces: pa.Table) -> None:
        """Add whole photos: their faces in one commit, then their photos rows in another (see the module)."""
        if faces.num_rows:
            self._write(lambda: self.table.add(faces.cast(self.table.schema)))
        if photos.num_rows:
            self._write(lambda: self.photo_table.add(photos.cast(self.photo_table.schema)))

    def add_faces(self, photos: pa.Table, faces: pa.Table) -> None:
        """Add faces to photos the index holds, `photos` being their rows with the new counts: their old photos
        rows deleted, then the faces and the new rows appended (`append`); a run stopped midway leaves the
        photos' faces without a photos row, which `clean` deletes (and the next `index` reads the photos again)."""
        where = f"path IN ({', '.join(sql_text(p) for p in photos['path'].to_pylist())})"
        self._write(lambda: self.photo_table.delete(where))
        self.append(photos, faces)

    def update_photos(self, faces: pa.Table) -> None:
        """Rewrite the faces of whole photos (every face of each photo in `faces`, in stored order) in one commit;
        they are written together again, so a photo's faces stay side by side."""
        if faces.num_rows:
            self._write(lambda: self.table.merge_insert(["path", "face"]).when_matched_update_all()
                        .execute(faces.cast(self.table.schema)))

    def delete(self, paths: Iterable[str]) -> None:
        """Drop these photos: their photos rows, then their faces (a commit of each per DELETE_CHUNK photos)."""
        paths = list(paths)
        for start in range(0, len(paths), DELETE_CHUNK):
            where = f"path IN ({', '.join(sql_text(p) for p in paths[start:start + DELETE_CHUNK])})"
            self._write(lambda where=where: self.photo_table.delete(where))
            self._write(lambda where=where: self.table.delete(where))

    def clean(self) -> None:
        """Delete the faces whose photo has no photos row (a run stopped between a batch's two commits); none
        when the photos rows count every face (every row's faces are there: see the module)."""
        counted = pc.sum(self.photos(["faces"])["faces"]).as_py() or 0
        if self.count() == counted:
            return
        found = pc.unique(self._read(self.table, ["path"], None)["path"])
        orphans = found.filter(pc.invert(pc.is_in(found, value_set=self.photos(["path"])["path"].combine_chunks())))
        for start in range(0, len(orphans), DELETE_CHUNK):
            where = f"path IN ({', '.join(sql_text(p) for p in orphans[start:start + DELETE_CHUNK].to_pylist())})"
            self._write(lambda where=where: self.table.delete(where))

    def replace_all(self, batches: Iterable[pa.RecordBatch], labeller: Labeller) -> None:
        """Every face replaced by `batches` and the labeller record with them, in one commit (relabelling)."""
        import lance

        schema = face_schema(self.manifest.dim, labeller)
        reader = pa.RecordBatchReader.from_batches(schema, (b.cast(schema) for b in batches))
        uri = str(self.directory / f"{FACES}.lance")
        self._write(lambda: lance.write_dataset(reader, uri, schema=schema, mode="overwrite"))
        self.table = self._db.open_table(FACES)
        self.labeller = labeller

    def write_other_table(self, name: str, rows: pa.Table, schema: pa.Schema, replace: bool = False) -> None:
        """Append rows to another table of the index (made when missing), or replace its rows, in one commit."""
        def work() -> None:
            if name in self.tables() and not replace:
                self._db.open_table(name).add(rows)
            else:
                self._db.create_table(name, data=rows, schema=schema, mode="overwrite")
        self._write(work)

    def save_model(self, data: bytes, fingerprint: str) -> str:
        """Keep a copy of a model file under models/ (named by its fingerprint), recorded in models.json before it
        is written; its path inside the index. A file of that name with other bytes is not whosthat's: refused."""
        name = model_file_name(fingerprint)
        target = inside(self.directory, name)
        if target.exists():
            if file_digest(target) != hashlib.sha256(data).hexdigest():
                raise IndexWriteError(f"{target}: is not the copy of this model whosthat writes there; move it out "
                                      "of the index and run again")
            return name
        self._write(lambda: _keep_copy(self.directory, name, target, data, self.model_copies()))
        return name

    def model_copies(self) -> dict[str, str]:
        """The model copies this index wrote (models.json): {name inside the index: SHA-256 of the bytes}; none
        when the record is missing or unreadable (then nothing is deleted)."""
        try:
            record = json.loads((self.directory / MODELS_RECORD).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return {}
        if not isinstance(record, dict):
            return {}
        return {k: v for k, v in record.items() if isinstance(k, str) and isinstance(v, str)}

    def forget_models(self) -> None:
        """Delete the model copies that no longer label the index: only those models.json records whose bytes
        are still the ones written (anything else under models/ is the user's, and stays)."""
        copies = self.model_copies()
        current = self.labeller.model_file

        def work() -> None:
            for name, digest in copies.items():
                if name == current:
                    continue
                path = inside(self.directory, name)
                try:
                    if path.is_file() and not path.is_symlink() and file_digest(path) == digest:
                        path.unlink()
                except FileNotFoundError:
                    pass
            kept = {current: copies[current]} if current in copies else {}
            write_atomically(self.directory / MODELS_RECORD, json.dumps(kept, indent=2).encode())
        if set(copies) - {current}:
            self._write(work)

    def tidy(self) -> None:
        """After a run: merge small files, bring indexes up to date (an ANN index on the vectors and a bitmap
        on the labels once the table is large), and drop versions no reader needs any more."""
        def work() -> None:
            rows = self.table.count_rows()
            if rows >= ANN_MIN_ROWS and not self._has_vector_index():
                from lancedb.index import Bitmap, BTree, IvfPq

                self.table.create_index("vector", config=IvfPq(distance_type="cosine",
                                                               num_partitions=max(1, int(np.sqrt(rows))),
                                                               num_sub_vectors=self.manifest.dim // 8))
                self.table.create_index("label", config=Bitmap())
                self.table.create_index("path", config=BTree())
            self.table.optimize(cleanup_older_than=KEEP_VERSIONS)
            self.photo_table.optimize(cleanup_older_than=KEEP_VERSIONS)
        self._write(work)

    def _has_vector_index(self) -> bool:
        return any(index.columns == ["vector"] for index in self.table.list_indices())

    def _read(self, table: Any, columns: Sequence[str], where: Optional[str]) -> pa.Table:
        try:
            return table.to_lance().to_table(columns=list(columns), filter=where)
        except READ_ERRORS as error:
            raise self._damaged(error) from None

    def _all_indexed(self) -> bool:
        """Whether every face of the table as read has its photos row: there are as many faces as the photos
        rows count (each row's faces are there: see the module), so that none need looking up. Remembered for
        the tables' versions it was found at."""
        try:
            versions = (self.table.version, self.photo_table.version)
            if versions == self._indexed_at:
                return True
            faces = self.table.count_rows()
        except READ_ERRORS as error:
            raise self._damaged(error) from None
        if faces != (pc.sum(self.photos(["faces"])["faces"]).as_py() or 0):
            return False
        self._indexed_at = versions
        return True

    def _indexed(self, faces: pa.Table, photo_columns: Sequence[str] = ()) -> pa.Table:
        """The faces whose photo has a photos row, read after them (see the module), with `photo_columns` of it."""
        paths = pc.unique(faces["path"])
        columns = ["path", *photo_columns]
        if not len(paths):
            photos = photo_schema().empty_table().select(columns)
        else:
            where = f"path IN ({', '.join(sql_text(p) for p in paths.to_pylist())})" \
                if len(paths) <= DELETE_CHUNK else None
            photos = self.photos(columns, where)
        position = pc.index_in(faces["path"], value_set=photos["path"].combine_chunks())
        faces = faces.filter(pc.is_valid(position))
        position = position.drop_null()
        for name in photo_columns:
            faces = faces.append_column(name, photos[name].take(position))
        return faces

    def _upgrade(self, locked: bool) -> None:
        """An index of an older format brought to this one, under its lock (`whosthat.collection.migrate`); the
        manifest is read again under the lock (another process may have upgraded it meanwhile)."""
        with contextlib.nullcontext() if locked else IndexLock(self.directory, wait=UPGRADE_WAIT):
            upgrade(self.directory, read_manifest(self.directory))
        self.manifest = read_manifest(self.directory)

    def _damaged(self, error: Exception) -> IndexFileError:
        return IndexFileError(f"{self.directory}: the index is damaged ({_reason(error)}); build a new one with "
                              "`whosthat index MODEL COLLECTION --index NEW_FOLDER`")

    def _write(self, operation: Any) -> None:
        try:
            operation()
        except (OSError, RuntimeError, ValueError) as error:
            raise IndexWriteError(f"{self.directory}: cannot write the index ({_reason(error)}); it keeps its last "
                                  f"complete state ({self.count_photos():,} photos)") from None


def _keep_copy(directory: Path, name: str, target: Path, data: bytes, copies: dict[str, str]) -> None:
    """A model copy written at `target`, recorded (with the SHA-256 of its bytes) in models.json first: a run
    stopped between the two leaves a record of a copy that is not there, never a copy nobody recorded."""
    record = {**copies, name: hashlib.sha256(data).hexdigest()}
    write_atomically(directory / MODELS_RECORD, json.dumps(record, indent=2).encode())
    target.parent.mkdir(exist_ok=True)
    write_atomically(target, data)


def _lancedb() -> Any:
    """LanceDB, imported when an index is opened (it takes a second or two); its Rust log keeps to errors."""
    os.environ.setdefault("LANCEDB_LOG", "error")
    os.environ.setdefault("LANCE_LOG", "error")
    import lancedb

    return lancedb


def _reason(error: Exception) -> str:
    """The first line of a LanceDB / OS error, with the usual cause named plainly."""
    text = str(error)
    if "No space left" in text or getattr(error, "errno", None) == 28:
        return "no space left on the device"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return (text.strip().splitlines() or [type(error).__name__])[0][:200]
