"""A face the detector missed, named by a user: a box drawn on a photo of an index becomes one more face of it.

The face is looked for in the box by the index's own detector (on the box's region, grown by a margin and scaled
up when small, so that a small face is found with its landmarks, which align it best); when the detector finds
none there, the box alone stands for it (a `Face` without landmarks, aligned by its box). It is embedded by the
index's model and written as the photo's next face number, every other face of the photo unchanged, then
confirmed with the name given: `learn` learns from it, and `find` names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pyarrow as pa

from whosthat.collection import corrections
from whosthat.collection.corrections import CONFIRM, HASH, Correction, CorrectionError
from whosthat.collection.lock import IndexLock
from whosthat.collection.recognition import name_faces
from whosthat.collection.rows import Recognised, recognised_table, split
from whosthat.collection.scan import PhotoFile, photo_path
from whosthat.collection.store import PHOTO_COLUMNS, IndexStore, sql_text
from whosthat.core.errors import ImageError
from whosthat.core.paths import UnsafePathError, printable
from whosthat.models.loading import load
from whosthat.vision.cache import content_hash
from whosthat.vision.detectors.base import Detector
from whosthat.vision.face import Face
from whosthat.vision.images import load_image

#: The smallest side of a box, in pixels of the photo (less holds no face to learn from).
MIN_SIDE = 8
#: The most a box's longer side may be of its shorter one.
MAX_ASPECT = 4.0
#: The share of a box that may lie outside the photo (the rest is clipped off).
MAX_OUTSIDE = 0.25
#: The box's region given to the detector is grown by this share of its longer side on each side...
MARGIN = 0.5
#: ...and scaled up until its longer side is this many pixels (the detector misses faces much smaller).
DETECT_SIDE = 320
#: A box that overlaps a face of the photo more than this (intersection over union) is that face.
MAX_OVERLAP = 0.5


class BoxError(CorrectionError):
    """A box that cannot be added as a face: not a face's size or shape, outside its photo, or on a photo that is
    gone, unreadable or changed since it was indexed."""


@dataclass(frozen=True)
class AddedFace:
    """The face written: its photo (path in the collection, content hash), its number, its box (x1, y1, x2, y2
    in pixels of the upright photo), whether the detector found it in the box (else the box alone stands for
    it), and the correction that names it."""

    path: str
    content_hash: str
    face: int
    box: tuple[float, float, float, float]
    detected: bool
    correction: Correction


def add_face(store: IndexStore, photo: str, box: Sequence[float], name: str, wait: float = 0.0) -> AddedFace:
    """Add the face in `box` (x, y, width, height in pixels of the upright photo) of `photo` (its path in the
    collection, or its content hash) to the index and confirm it as `name` (see the module); one clear
    `CorrectionError` for a photo the index does not hold or that is gone or changed, a box too small, too large
    or out of the photo, or one that is a face of the photo already."""
    name = corrections.check_name(name)
    drawn = _corners(box)
    with IndexLock(store.directory, wait=wait):
        store = IndexStore(store.directory, locked=True)  # read as it is now, under the lock: the face's number
        store.clean()
        row = _photo_row(store, photo)
        path, key, count = row["path"], row["content_hash"], row["faces"]
        image = _image(store, path, key)
        drawn = _clipped(drawn, image.shape[1], image.shape[0])
        _check_new(store, path, drawn)
        model = load(store.model_path())
        extractor = model.extractor()
        face = find_face(extractor.detector, image, drawn)
        _check_new(store, path, face.box)
        vector = extractor.embedder.embed(extractor.embedder.chips(image, [face]))
        named = name_faces(model, path, [face], vector)
        root = Path(store.manifest.collection)
        source = str(photo_path(root, path))
        recognised = recognised_table([Recognised(source, key, named)], store.manifest.dim)
        files = {source: PhotoFile(Path(source), path, row["size"], row["mtime_ns"])}
        _, faces = split(recognised, files, store.table.schema)
        faces = faces.set_column(faces.schema.get_field_index("face"), "face", pa.array([count], pa.int32()))
        photos = pa.Table.from_pylist([{**row, "faces": count + 1}], store.photo_table.schema)
        store.add_faces(photos, faces)
    said = corrections.record(store, [(key, count, CONFIRM, name)], wait)
    x1, y1, x2, y2 = (float(v) for v in face.box)
    return AddedFace(path, key, count, (x1, y1, x2, y2), face.landmarks is not None, said[0])


def find_face(detector: Detector, image: np.ndarray, box: np.ndarray) -> Face:
    """The face the detector finds in the region of `box` (x1, y1, x2, y2), its centre inside the box and most
    like it; else the box alone (a `Face` without landmarks, of score 0)."""
    x1, y1, x2, y2 = box
    grow = MARGIN * max(x2 - x1, y2 - y1)
    height, width = image.shape[:2]
    left, top = int(max(0, np.floor(x1 - grow))), int(max(0, np.floor(y1 - grow)))
    right, bottom = int(min(width, np.ceil(x2 + grow))), int(min(height, np.ceil(y2 + grow)))
    region = image[top:bottom, left:right]
    scale = max(1.0, DETECT_SIDE / max(region.shape[:2]))
    if scale > 1:
        region = cv2.resize(region, (round(region.shape[1] * scale), round(region.shape[0] * scale)),
                            interpolation=cv2.INTER_CUBIC)
        scale = region.shape[1] / (right - left)
    offset = np.array([left, top], np.float32)
    best: Optional[Face] = None
    for found in detector.detect(np.ascontiguousarray(region)):
        moved = Face((found.box.reshape(2, 2) / scale + offset).reshape(4),
                     None if found.landmarks is None else found.landmarks / scale + offset, found.score)
        cx, cy = (moved.box[:2] + moved.box[2:]) / 2
        if x1 <= cx <= x2 and y1 <= cy <= y2 and (best is None or overlap(moved.box, box) > overlap(best.box, box)):
            best = moved
    return best if best is not None else Face(box, None, 0.0)


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boxes (x1, y1, x2, y2)."""
    width = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    height = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    both = width * height
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - both
    return both / union if union > 0 else 0.0


def _corners(box: Sequence[float]) -> np.ndarray:
    """x, y, width, height as x1, y1, x2, y2, checked: four finite numbers, of sides MIN_SIDE or more, neither
    more than MAX_ASPECT times the other."""
    try:
        x, y, w, h = (float(v) for v in box)
    except (TypeError, ValueError):
        raise BoxError(f"box {box!r}: give four numbers, x, y, width and height in pixels") from None
    if not all(np.isfinite([x, y, w, h])):
        raise BoxError("box: give finite numbers")
    if min(w, h) < MIN_SIDE:
        raise BoxError(f"box {w:g}x{h:g}: too small to hold a face (at least {MIN_SIDE} px a side)")
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise BoxError(f"box {w:g}x{h:g}: too long and thin to be a face")
    return np.array([x, y, x + w, y + h], np.float32)


def _clipped(box: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box cut to the photo; one that lies mostly outside it, or that is the whole photo, is refused."""
    inner = np.array([max(box[0], 0), max(box[1], 0), min(box[2], width), min(box[3], height)], np.float32)
    area = float((box[2] - box[0]) * (box[3] - box[1]))
    kept = max(0.0, float(inner[2] - inner[0])) * max(0.0, float(inner[3] - inner[1]))
    if kept < (1 - MAX_OUTSIDE) * area or min(inner[2] - inner[0], inner[3] - inner[1]) < MIN_SIDE:
        raise BoxError(f"the box lies outside the photo ({width}x{height} px)")
    if inner[2] - inner[0] >= width and inner[3] - inner[1] >= height:
        raise BoxError("the box is the whole photo: draw it around the face")
    return inner


def _photo_row(store: IndexStore, photo: str) -> dict:
    """The photos row of `photo` (its path in the collection, or its content hash); a photo the index does not
    hold, or could not read, is refused."""
    photo = str(photo)
    found = store.photos(PHOTO_COLUMNS, f"path = {sql_text(photo)}")
    if not found.num_rows and HASH.fullmatch(photo):
        found = store.photos(PHOTO_COLUMNS, f"content_hash = {sql_text(photo)}").sort_by("path")
    if not found.num_rows:
        raise CorrectionError(f"{printable(photo)}: no such photo in the index {store.directory} (give its path "
                              "in the collection, or its content hash)")
    row = found.slice(0, 1).to_pylist()[0]
    if row["error"] is not None:
        raise BoxError(f"{printable(row['path'])}: could not be read when indexed ({row['error']})")
    return row


def _image(store: IndexStore, path: str, key: str) -> np.ndarray:
    """The photo's pixels (upright), read inside the collection only; one gone, unreadable or changed since it
    was indexed is refused."""
    try:
        data = photo_path(Path(store.manifest.collection), path).read_bytes()
    except (OSError, UnsafePathError) as error:
        raise BoxError(f"{printable(path)}: cannot be read ({getattr(error, 'strerror', None) or error})"
                            ) from None
    if content_hash(data) != key:
        raise BoxError(f"{printable(path)}: changed since it was indexed; run `whosthat index` first")
    try:
        return load_image(data)
    except ImageError as error:
        raise BoxError(f"{printable(path)}: {error.reason}") from None


def _check_new(store: IndexStore, path: str, box: np.ndarray) -> None:
    """Refuse a box that is mostly a face the photo has already (correct that face instead)."""
    faces = store.scan(["face", "box"], f"path = {sql_text(path)}")
    for number, other in zip(faces["face"].to_pylist(), faces["box"].to_pylist()):
        if overlap(np.asarray(other, np.float32), box) > MAX_OVERLAP:
            raise CorrectionError(f"that face is already face {number}; correct it instead")
