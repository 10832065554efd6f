"""Named groups of arrays: a model file keeps each part's arrays under a `prefix/`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def nest(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays named `prefix/name`: one part of the model file's arrays."""
    return {f"{prefix}/{k}": v for k, v in arrays.items()}


def part(prefix: str, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays under `prefix/`, without it (what `nest` wrote)."""
    start = len(prefix) + 1
    return {k[start:]: v for k, v in arrays.items() if k.startswith(prefix + "/")}
