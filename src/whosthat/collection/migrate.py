"""An index of format 1 upgraded in place to this format, safely and once: the only module that knows format 1.

Format 1 keeps photos and faces in one LanceDB table, `faces`, with a row of `face = -1` for each photo where no
face was found or that could not be read, and the first face's row (`face = 0`) standing for its photo otherwise.
The upgrade runs under the index's lock (`IndexStore` takes it, or its caller holds it):

1. `faces.lance` is renamed `faces-format1.lance` (one rename: the old rows stay whole, under a name of their own);
2. the `photos` and `faces` tables are written from it (over whatever an interrupted upgrade left of them);
3. `index.json` is written with the new format version (atomically): from here on the index is of the new format;
4. `faces-format1.lance` is deleted.

An upgrade stopped anywhere is done again, or finished, at the next open: before step 3 the manifest still says
format 1 and the old rows are whole in one of the two folders; after it, only the old folder is left to delete.
The faces keep their order, labels, vectors and the record of the model that named them; the `people` table is
keyed by content hash and face, the same in both formats, and stays as it is.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa

from whosthat.collection.schema import (
    FACES,
    FORMAT_VERSION,
    MANIFEST,
    PHOTOS,
    IndexWriteError,
    Labeller,
    Manifest,
    face_schema,
    photo_schema,
)
from whosthat.core.files import write_atomically

#: The format-1 table's folder while the upgrade runs.
OLD = f"{FACES}-format1.lance"


def needs_upgrade(directory: Path, manifest: Manifest) -> bool:
    """Whether the index is of an older format, or an upgrade of it stopped before deleting the old table."""
    return manifest.format_version < FORMAT_VERSION or (Path(directory) / OLD).exists()


def upgrade(directory: Path, manifest: Manifest) -> None:
    """Bring a format-1 index to this format (see the module); hold the index's lock, and pass its manifest as
    read under the lock. Raises `IndexWriteError` when it cannot be written (it stays readable for a later try)."""
    import lance

    directory = Path(directory)
    old = directory / OLD
    try:
        if manifest.format_version < FORMAT_VERSION:
            if not old.exists():
                os.rename(directory / f"{FACES}.lance", old)
            source = lance.dataset(str(old))
            labeller = Labeller.from_metadata(source.schema.metadata)
            _copy(source, directory / f"{PHOTOS}.lance", photo_schema(), "face <= 0")
            _copy(source, directory / f"{FACES}.lance", face_schema(manifest.dim, labeller), "face >= 0")
            upgraded = dataclasses.replace(manifest, format_version=FORMAT_VERSION)
            write_atomically(directory / MANIFEST, upgraded.to_json().encode())
        shutil.rmtree(old, ignore_errors=True)
    except (OSError, RuntimeError, ValueError) as error:
        raise IndexWriteError(f"{directory}: cannot upgrade the index to format {FORMAT_VERSION} "
                              f"({str(error).splitlines()[0][:200] if str(error) else type(error).__name__}); "
                              "it is kept as it was: open it where it can be written") from None


def _copy(source: Any, target: Path, schema: pa.Schema, where: str) -> None:
    """The rows of `source` that match `where`, in order, as a new table at `target` with `schema`."""
    import lance

    reader = source.scanner(columns=schema.names, filter=where, scan_in_order=True).to_reader()
    batches = pa.RecordBatchReader.from_batches(schema, (batch.cast(schema) for batch in reader))
    lance.write_dataset(batches, str(target), schema=schema, mode="overwrite")
