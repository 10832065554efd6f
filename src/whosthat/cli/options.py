"""What the commands share: argument types that refuse bad values at the door, the cache and threshold options,
the index argument, and progress bars on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from whosthat.core.errors import WhosthatError, check_threshold
from whosthat.core.paths import printable

if TYPE_CHECKING:
    from whosthat.vision.cache import EmbeddingCache

#: Unreadable photos, notes and other lists printed at the end of a run (the rest are counted).
SHOWN_ERRORS = 12


def _number(text: str, kind: type[int] | type[float], ok: Callable[[float], bool], refused: str) -> Any:
    """`text` as an int or float that `ok` takes (NaN fails every comparison: refused too), else the argparse
    error `"TEXT is REFUSED"`."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a {'whole number' if kind is int else 'number'}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} is {refused}")
    return value


def positive(text: str) -> int:
    """A whole number of at least 1."""
    return _number(text, int, lambda v: v >= 1, "not a positive whole number")


def count(text: str) -> int:
    """A whole number of at least 0 (0: all)."""
    return _number(text, int, lambda v: v >= 0, "negative (0 means all)")


def fraction(text: str) -> float:
    """A share in [0, 1)."""
    return _number(text, float, lambda v: 0.0 <= v < 1.0, "not a fraction in [0, 1)")


def probability(text: str) -> float:
    """A probability in [0, 1]."""
    return _number(text, float, lambda v: 0.0 <= v <= 1.0, "not a probability (a number from 0 to 1)")


def threshold(text: str) -> float:
    """A --threshold: any finite number (`nan` and `inf` are refused, as the REST API refuses them)."""
    try:
        value = float(text)
        check_threshold(value)
    except (ValueError, WhosthatError):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number") from None
    return value


def add_cache_options(parser: argparse.ArgumentParser) -> None:
    """--cache-dir and --no-cache: the embedding cache shared by training, prediction and indexing."""
    from whosthat.vision.cache import default_cache_dir

    parser.add_argument("--cache-dir", type=Path,
                        help=f"where detections and embeddings are cached (default: {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def embedding_cache(args: argparse.Namespace) -> Optional[EmbeddingCache]:
    """The cache the options name (None with --no-cache)."""
    from whosthat.vision.cache import EmbeddingCache

    return None if args.no_cache else EmbeddingCache(args.cache_dir)


def add_threshold_option(parser: argparse.ArgumentParser) -> None:
    """--threshold, instead of the model's calibrated stranger threshold."""
    parser.add_argument("--threshold", type=threshold,
                        help="stranger threshold (a log-odds that the face is a member) instead of the calibrated "
                             "one; higher: more faces called unknown (the report lists the points of its curve)")


def add_index_argument(parser: argparse.ArgumentParser) -> None:
    """INDEX: an index folder, or the collection folder that holds the default one."""
    parser.add_argument("index", type=Path,
                        help="index folder, or the collection folder holding the default .whosthat-index")


def progress_bar(label: str, total: int, unit: str = "photo") -> Callable[[int], None]:
    """A progress bar on stderr (shown only on a terminal) of `total` items (0: unknown); returns its advance(n)."""
    from tqdm import tqdm

    bar = tqdm(total=total or None, desc=label, unit=unit, file=sys.stderr, disable=None, leave=False,
               smoothing=0.05)

    def advance(n: int) -> None:
        bar.update(n)
        if total and bar.n >= total:
            bar.close()

    return advance


def print_notes(notes: Sequence[str]) -> None:
    """Notes of a run on stderr, `SHOWN_ERRORS` of them and the number of the rest."""
    for note in notes[:SHOWN_ERRORS]:
        print(f"note: {printable(note)}", file=sys.stderr)
    if len(notes) > SHOWN_ERRORS:
        print(f"note: ... and {len(notes) - SHOWN_ERRORS} more", file=sys.stderr)
