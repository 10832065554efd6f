"""Embedders: turn each subject into a unit vector where the same person lies close together, registered by name
(`EMBEDDERS`, in `registry.py`); building one imports its module."""

from whosthat.vision.embedders.registry import EMBEDDERS
from whosthat.vision.embedders.spec import create_embedder, embedder_from_spec, parse_spec

__all__ = ["EMBEDDERS", "create_embedder", "embedder_from_spec", "parse_spec"]
