"""Embedders: turn each subject into a unit vector where the same person lies close together."""

from whosthat.embedders import combined, dlib_resnet, facenet, imagenet  # noqa: F401  (registers the embedders)
from whosthat.embedders.base import EMBEDDERS, Embedder, create_embedder

__all__ = ["EMBEDDERS", "Embedder", "create_embedder"]
