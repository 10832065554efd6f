"""The errors a user can cause: the CLI turns each into one line saying what and where."""

from __future__ import annotations

import math
from typing import Optional


class WhosthatError(Exception):
    """Base of every error caused by input (files, folders, options), not by a bug."""


class ImageError(WhosthatError):
    """An image that cannot be read: missing, empty, not an image, truncated or too large.

    source: the file as given ("<bytes>" or "<array>" for data in memory); reason: what is wrong with it.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source, self.reason = source, reason

    def __reduce__(self) -> tuple:  # pickled across processes (Ray) with both fields
        return type(self), (self.source, self.reason)


class ImageTooLargeError(ImageError):
    """An image with more pixels than the limit: a possible decompression bomb."""


class DatasetError(WhosthatError):
    """A training or test folder that cannot be used as it is."""


class ModelFileError(WhosthatError):
    """A model file that is missing, foreign, corrupt or of a newer format."""


class MissingWeightsError(WhosthatError):
    """A pretrained weight package is not installed; the message names the pip command."""


def one_line(error: object, most: int = 200) -> str:
    """An error's message on one line, at most `most` characters: what a user is shown of a message that
    came from a library or a file (which may hold newlines, or be huge)."""
    text = " ".join(str(error).split())
    return text if len(text) <= most else text[:most - 3] + "..."


def check_threshold(threshold: Optional[float]) -> Optional[float]:
    """A stranger threshold given instead of a model's own (None: the model's), or `WhosthatError` unless it is
    a finite number: against NaN every comparison is false, so every face would silently be unknown."""
    if threshold is not None and not math.isfinite(threshold):
        raise WhosthatError(f"threshold {threshold} is not a finite number")
    return threshold
