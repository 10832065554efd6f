"""The model file: a zip holding `manifest.json` and `arrays.npz`, never pickle, written atomically."""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from whosthat.errors import ModelFileError

FORMAT = "whosthat-model"
#: The layout `write_bundle` writes; `whosthat.migrate` turns earlier ones into it.
FORMAT_VERSION = 2


def nest(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays named `prefix/name`: one part of the model file's arrays."""
    return {f"{prefix}/{k}": v for k, v in arrays.items()}


def part(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays under `prefix/`, without it (what `nest` wrote)."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def write_bundle(path: str | os.PathLike, manifest: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write the model file atomically: a temporary file beside it, then a rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, **manifest}
    buffer = io.BytesIO()
    # mypy cannot tell that the names hold no `allow_pickle`, savez_compressed's one keyword parameter.
    np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
            archive.writestr("arrays.npz", buffer.getvalue(), compress_type=zipfile.ZIP_STORED)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_bundle(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """The manifest and arrays of a model file; `ModelFileError` for anything that is not one we can read."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "manifest.json" not in names or "arrays.npz" not in names:
                raise ModelFileError(f"{path}: not a whosthat model (a zip without manifest.json and arrays.npz)")
            manifest = json.loads(archive.read("manifest.json"))
            npz = np.load(io.BytesIO(archive.read("arrays.npz")), allow_pickle=False)
            arrays = {key: npz[key] for key in npz.files}
    except zipfile.BadZipFile:
        raise ModelFileError(f"{path}: not a whosthat model file (not a zip archive)") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError, OSError, EOFError, zipfile.LargeZipFile) as error:
        raise ModelFileError(f"{path}: corrupt model file ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path}: not a whosthat model file (manifest format is not {FORMAT!r})")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format {version} is newer than this whosthat reads ({FORMAT_VERSION}): upgrade whosthat"
        )
    return manifest, arrays
