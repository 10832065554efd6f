"""Embedders: turn each subject into a unit vector where the same person lies close together."""

from whosthat.vision.embedders import arcface, combined, dlib_resnet, facenet, imagenet  # noqa: F401  (registers the embedders)
from whosthat.vision.embedders.base import EMBEDDERS, Embedder
from whosthat.vision.embedders.spec import create_embedder, embedder_from_spec, parse_spec

__all__ = ["EMBEDDERS", "Embedder", "create_embedder", "embedder_from_spec", "parse_spec"]
