"""The embedders by name: the names are known here before any embedder module is imported (they load
PyTorch), and building one imports its module (`whosthat.core.registry`)."""

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
