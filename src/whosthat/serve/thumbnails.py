"""A face per member, cut from one of the model's own training photos, for the page's member list."""

from __future__ import annotations

import io
import threading
from pathlib import Path, PurePosixPath
from typing import Optional

import numpy as np
from PIL import Image

from whosthat.core.errors import ImageError
from whosthat.core.paths import UnsafePathError, inside
from whosthat.models.ensemble import Ensemble
from whosthat.models.model import Model
from whosthat.models.protocol import Namer
from whosthat.models.records import SplitRecord
from whosthat.training.folder import class_name
from whosthat.vision.align import crop_box
from whosthat.vision.images import load_image

#: Side of a thumbnail in pixels, and how much of the face's surroundings it shows (a quarter of the face's
#: size on each side).
SIZE = 160
MARGIN = 0.25
#: Training photos tried per member before giving up (some hold no face or several).
TRIES = 6


class Thumbnails:
    """JPEG face crops per member, made on first request and kept; the photos are those the model's split
    names under its training root, so a model moved away from its photos has none."""

    def __init__(self, model: Namer) -> None:
        self.model = model
        self._photos: dict[str, list[Path]] = {name: [] for name in model.classes}
        split = _split_of(model)
        root = Path(split.root) if split is not None else Path(".")
        for relative in split.split.train if split is not None else ():
            parts = PurePosixPath(relative).parts
            member = class_name(parts[0]) if len(parts) > 1 else None
            if member in self._photos:
                try:  # a name read from the model file: it must stay under the training folder
                    self._photos[member].append(inside(root, relative))
                except UnsafePathError:
                    continue
        self._made: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def available(self, member: str) -> bool:
        """Whether any training photo of the member is still on disk."""
        return any(path.is_file() for path in self._photos.get(member, [])[:TRIES])

    def get(self, member: str) -> bytes | None:
        """The member's thumbnail as JPEG bytes, or None when no training photo with a face is on disk."""
        with self._lock:
            if member in self._made:
                return self._made[member]
        made = self._make(member)
        if made is not None:
            with self._lock:
                self._made[member] = made
        return made

    def _make(self, member: str) -> bytes | None:
        detector = self.model.extractor().detector
        for path in self._photos.get(member, [])[:TRIES]:
            try:
                image = load_image(path)
            except ImageError:
                continue
            faces = detector.detect(image)
            if len(faces) == 1:
                return jpeg(crop_box(image, faces[0].box, SIZE, MARGIN))
        return None


def _split_of(model: Namer) -> Optional[SplitRecord]:
    """The split the model (or, for an ensemble, its first member that records one) was trained on."""
    models = list(model.members) if isinstance(model, Ensemble) else [model] if isinstance(model, Model) else []
    return next((m.training.split for m in models if m.training is not None), None)


def jpeg(array: np.ndarray) -> bytes:
    """An RGB image as JPEG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()
