"""Embedders: turn each subject into a unit vector where the same person lies close together, registered by name.

The registry lists its names without importing the embedders (PyTorch); building one imports its module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.registry import Registry

if TYPE_CHECKING:
    from whosthat.vision.embedders.base import Embedder

EMBEDDERS: Registry[Embedder] = Registry("embedder", {
    "facenet": "whosthat.vision.embedders.facenet",
    "dlib": "whosthat.vision.embedders.dlib_resnet",
    "facenet+dlib": "whosthat.vision.embedders.combined",
    "arcface": "whosthat.vision.embedders.arcface",
    "mobilenetv2": "whosthat.vision.embedders.imagenet",
    "efficientnet-lite0": "whosthat.vision.embedders.imagenet",
    "mobilenetv2+efficientnet-lite0": "whosthat.vision.embedders.imagenet",
    "finetuned": "whosthat.vision.embedders.imagenet",
})

from whosthat.vision.embedders.spec import create_embedder, embedder_from_spec, parse_spec  # noqa: E402

__all__ = ["EMBEDDERS", "create_embedder", "embedder_from_spec", "parse_spec"]
