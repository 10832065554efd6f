"""The model file: a zip holding `manifest.json` and `arrays.npz`, never pickle, written atomically."""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from whosthat.core.errors import ModelFileError, one_line
from whosthat.core.files import atomic_file

FORMAT = "whosthat-model"
#: The layout `write_bundle` writes; `whosthat.models.migrate` turns format 1 into it. Format 3 is format 2's
#: layout whose recogniser may hold a head with one more class than the members, and the faces of the
#: non-members it learned (`Recogniser.negatives_`), which a reader of format 2 would take for a member: so it
#: reads format 2 files as they are, and they it not.
FORMAT_VERSION = 3
#: The first format in the current layout.
LAYOUT_VERSION = 2
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"
#: The largest manifest read: a model's lists every photo of its split by path, a few MB for a large
#: collection; beyond this cap a manifest is a damaged or hostile file (a zip bomb), not a model's.
MAX_MANIFEST_BYTES = 32 * 1024 * 1024
#: The arrays' caps once decompressed (`_array_budget`): at most this, ...
MAX_ARRAY_BYTES = 2 * 1024**3
#: ... this many times the file's size, ...
ARRAY_RATIO = 100
#: ... and at least this.
MIN_ARRAY_BUDGET = 64 * 1024 * 1024


def write_bundle(path: str | os.PathLike, manifest: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write the model file atomically: a temporary file beside it, then a rename over it."""
    path = Path(path)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    buffer = io.BytesIO()
    # mypy cannot tell that the names hold no `allow_pickle`, savez_compressed's one keyword parameter.
    np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    with atomic_file(path, ours=is_model_file) as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr(ARRAYS, buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
    return path


def is_model_file(path: Path) -> bool:
    """Whether the file at `path` is a model file whosthat wrote (a zip whose manifest says so): such a file may be
    replaced by a newer one, any other is left as it is."""
    try:
        with zipfile.ZipFile(path) as archive, archive.open(MANIFEST) as manifest:
            return f'"format": "{FORMAT}"'.encode() in manifest.read(4096)
    except (OSError, KeyError, zipfile.BadZipFile, zlib.error, ValueError):
        return False


def read_bundle(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and arrays of a model file; `ModelFileError` for anything that is not one we can read.

    A model file may come from anyone, so nothing in it is trusted: each member's size is checked against a
    cap before it is read and read through a stream that stops one byte past the cap (a zip's header can
    lie), and so are the arrays inside `arrays.npz`, before numpy allocates them.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(path, archive)
            manifest = json.loads(_read(path, archive, members[MANIFEST], MAX_MANIFEST_BYTES))
            arrays = _arrays(path, _read(path, archive, members[ARRAYS], _array_budget(path)), _array_budget(path))
    except zipfile.BadZipFile as error:
        raise ModelFileError(f"{path}: not a whosthat model file (not a zip archive, or a damaged one: {error})"
                             ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, OSError, EOFError, RecursionError,
            NotImplementedError, zlib.error, zipfile.LargeZipFile) as error:
        raise ModelFileError(f"{path}: corrupt model file ({one_line(error)})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a whosthat model file (manifest format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise ModelFileError(f"{path}: model format version {one_line(repr(version), 40)} is not one this whosthat "
                             f"knows (a whole number from 1 to {FORMAT_VERSION})")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format {version} is newer than this whosthat reads ({FORMAT_VERSION}): upgrade whosthat"
        )
    return manifest, arrays


def _members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The model file's two members; `ModelFileError` for a missing, repeated or unexpected one."""
    members: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if info.filename not in (MANIFEST, ARRAYS) or info.filename in members:
            raise ModelFileError(f"{path}: not a whosthat model (unexpected member {info.filename[:80]!r})")
        members[info.filename] = info
    if len(members) < 2:
        raise ModelFileError(f"{path}: not a whosthat model (a zip without {MANIFEST} and {ARRAYS})")
    return members


def _read(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, within: str = "") -> bytes:
    """A member's bytes (of the zip `within` names, if any), refused when its declared size, or what actually
    comes out of it, passes `cap`, or when it is compressed in a way whosthat never writes."""
    name = f"{within}/{info.filename}" if within else info.filename
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
        raise ModelFileError(f"{path}: not a whosthat model ({name[:80]} is encrypted or oddly compressed)")
    if info.file_size > cap:
        raise ModelFileError(f"{path}: {name[:80]} would take {info.file_size:,} bytes, over the limit of "
                             f"{cap:,}: a damaged or hostile model file")
    with archive.open(info) as stream:
        data = stream.read(cap + 1)
    if len(data) > cap:
        raise ModelFileError(f"{path}: {name[:80]} holds more than the limit of {cap:,} bytes (its header says "
                             f"{info.file_size:,}): a damaged or hostile model file")
    return data


def _arrays(path: Path, npz: bytes, budget: int) -> dict[str, np.ndarray]:
    """The arrays of `arrays.npz` (itself a zip of .npy files), each header checked against the bytes it comes
    with and all of them together against `budget`, before numpy allocates anything."""
    arrays: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(io.BytesIO(npz)) as inner:
        for info in inner.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in arrays:
                raise ModelFileError(f"{path}: not a whosthat model (unexpected array {info.filename[:80]!r})")
            data = _read(path, inner, info, budget, ARRAYS)
            budget -= len(data)
            arrays[info.filename[:-4]] = _array(path, info.filename, data)
    return arrays


def _array(path: Path, name: str, data: bytes) -> np.ndarray:
    """One .npy file's array; `ModelFileError` unless its header's shape and type account for its bytes exactly."""
    stream = io.BytesIO(data)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ModelFileError(f"{path}: corrupt model file (array {name[:80]!r} of unknown .npy version {version})")
    if dtype.hasobject:
        raise ModelFileError(f"{path}: corrupt model file (array {name[:80]!r} holds Python objects, never loaded)")
    if math.prod(shape) * dtype.itemsize != len(data) - stream.tell():
        raise ModelFileError(f"{path}: corrupt model file (array {name[:80]!r}: its header does not match its data)")
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)


def _array_budget(path: Path) -> int:
    """The most bytes the arrays may take once decompressed. They are vectors and network weights, which
    deflate to little less than their size, so a file whose arrays inflate to over a hundred times its size is
    a zip bomb, not a model; small files get a floor (arrays of zeros, such as empty boxes, deflate well), and
    no file more than MAX_ARRAY_BYTES."""
    return min(MAX_ARRAY_BYTES, max(MIN_ARRAY_BUDGET, ARRAY_RATIO * path.stat().st_size))
