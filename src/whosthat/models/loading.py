"""`load`: read any model file, a single model or an ensemble, of this format or an earlier one."""

from __future__ import annotations

import os

from whosthat.core.errors import ModelFileError, one_line
from whosthat.models.ensemble import KIND as ENSEMBLE
from whosthat.models.ensemble import Ensemble
from whosthat.models.file import LAYOUT_VERSION, read_bundle
from whosthat.models.migrate import upgrade
from whosthat.models.model import KIND as MODEL
from whosthat.models.model import Model


def load(path: str | os.PathLike) -> Model | Ensemble:
    """Read a model file written by `whosthat train` or `whosthat ensemble` (any format up to this
    whosthat's); `ModelFileError` when it is foreign, corrupt or newer."""
    manifest, arrays = read_bundle(path)
    try:
        if manifest["format_version"] < LAYOUT_VERSION:
            manifest, arrays = upgrade(manifest, arrays)
        kind = manifest["kind"]
        if kind == MODEL:
            return Model.from_bundle(manifest, arrays, path)
        if kind == ENSEMBLE:
            return Ensemble.from_bundle(manifest, arrays, path)
    except KeyError as error:
        raise ModelFileError(f"{path}: corrupt model file (missing {one_line(error)})") from None
    except (TypeError, ValueError, IndexError, AttributeError) as error:  # a value of the wrong type or shape
        raise ModelFileError(f"{path}: corrupt model file (a bad value: {one_line(error)})") from None
    raise ModelFileError(f"{path}: unknown kind of model {one_line(repr(kind), 60)}")
