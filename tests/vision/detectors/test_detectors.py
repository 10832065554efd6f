"""Detectors: conformance of every registered one, and YuNet on real faces (group, crops, edges, small)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import BLACKPINK_GROUP, KPOP15, images_of
from whosthat.vision.detectors import DETECTORS, create_detector
from whosthat.vision.face import Face
from whosthat.vision.images import load_image


@pytest.fixture(scope="module")
def group() -> np.ndarray:
    return load_image(BLACKPINK_GROUP)


@pytest.mark.parametrize("name", DETECTORS.names())
def test_detector_conformance(name: str, group: np.ndarray):
    detector = create_detector(name)
    assert detector.name == name and isinstance(detector.identity, str) and detector.identity
    faces = detector.detect(group)
    assert faces, f"{name} found nothing in a photo of four people"
    height, width = group.shape[:2]
    for face in faces:
        assert isinstance(face, Face)
        x1, y1, x2, y2 = face.box
        assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
        assert 0 <= face.score <= 1
        assert face.landmarks is None or face.landmarks.shape == (5, 2)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


def test_yunet_finds_the_four_members(group: np.ndarray):
    faces = create_detector("yunet").detect(group)
    assert len(faces) == 4
    lefts = sorted(float(f.box[0]) for f in faces)
    assert all(b - a > 60 for a, b in zip(lefts, lefts[1:])), "two boxes on the same face"
    for face in faces:
        (rx, ry), (lx, _) = face.landmarks[0], face.landmarks[1]
        x1, y1, x2, y2 = face.box
        assert x1 <= rx < lx <= x2 and y1 <= ry <= y2, "eyes not inside the box, or swapped"


def test_yunet_on_tight_crops():
    """kpop15/train is 160x160 face crops: YuNet must find a face in at least 95 % of them."""
    detector = create_detector("yunet")
    paths = [p for folder in sorted(KPOP15.iterdir()) if folder.is_dir() for p in images_of(folder)]
    found = sum(bool(detector.detect(load_image(p))) for p in paths)
    print(f"\nYuNet found a face in {found}/{len(paths)} kpop15 crops")
    assert found >= 0.95 * len(paths)


@pytest.mark.parametrize("shape", [(480, 640), (50, 50), (2000, 3000)])
def test_blank_image_has_no_face(shape):
    assert create_detector("yunet").detect(np.full((*shape, 3), 180, np.uint8)) == []


def _largest(faces: list[Face]) -> Face:
    return max(faces, key=lambda f: f.area)


@pytest.mark.parametrize("side", ["left", "right", "top"])
def test_face_cut_by_the_border(group: np.ndarray, side: str):
    """About a third of Jennie's face outside the picture: still found, box inside the image."""
    faces = create_detector("yunet").detect(group)
    x1, y1, x2, y2 = sorted(faces, key=lambda f: f.box[0])[1].box.astype(int)
    third_w, third_h = (x2 - x1) // 3, (y2 - y1) // 3
    if side == "left":
        crop = group[:, x1 + third_w:]
    elif side == "right":
        crop = group[:, : x2 - third_w]
    else:
        crop = group[y1 + third_h:, :]
    found = create_detector("yunet").detect(np.ascontiguousarray(crop))
    height, width = crop.shape[:2]
    expected_x = {"left": 0, "right": x1, "top": x1}[side]
    near = [f for f in found if abs(f.box[0] - expected_x) < (x2 - x1) * 0.5]
    assert near, f"the face cut on the {side} was not found: {[f.box.round() for f in found]}"
    for face in found:
        assert 0 <= face.box[0] < face.box[2] <= width and 0 <= face.box[1] < face.box[3] <= height


@pytest.mark.parametrize("corner", ["top-left", "bottom-right"])
def test_small_face_in_a_large_canvas(corner: str):
    """A real face shrunk to ~30 px in a corner of a 1600x1200 blank canvas: found, at the right place."""
    face = Image.open(images_of(KPOP15 / "Jihyo")[0]).convert("RGB")
    size = 44  # the crop is a little larger than the face: the face itself is ~30 px
    small = face.resize((size, size), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (1600, 1200), (200, 200, 200))
    x, y = (40, 30) if corner == "top-left" else (1600 - 40 - size, 1200 - 30 - size)
    canvas.paste(small, (x, y))
    found = create_detector("yunet").detect(np.asarray(canvas))
    assert found, "no face found"
    best = found[0]
    cx, cy = (best.box[0] + best.box[2]) / 2, (best.box[1] + best.box[3]) / 2
    assert abs(cx - (x + size / 2)) < size / 2 and abs(cy - (y + size / 2)) < size / 2, best.box
    assert 15 < best.box[2] - best.box[0] < 60


def test_whole_image_subject():
    faces = create_detector("whole").detect(np.zeros((30, 40, 3), np.uint8))
    assert len(faces) == 1
    np.testing.assert_array_equal(faces[0].box, [0, 0, 40, 30])
    assert faces[0].landmarks is None and faces[0].score == 1.0


def test_face_array_round_trip():
    face = Face(box=[1, 2, 3, 4], landmarks=np.arange(10).reshape(5, 2), score=0.5)
    back = Face.from_array(face.to_array())
    np.testing.assert_array_equal(back.box, face.box)
    np.testing.assert_array_equal(back.landmarks, face.landmarks)
    assert back.score == 0.5 and Face.from_array(Face.whole_image(4, 3).to_array()).landmarks is None


def test_small_faces_in_a_phone_photo():
    """Twelve real faces of about 30 px and one of 900 px in a 4032x3024 photo. Scaled to 1600 px
    the small ones are 12 px, too small for YuNet; the tiled fine pass finds them, each once (one
    sits where two tiles overlap), while the large face is still found whole by the first pass."""
    members = sorted(p for p in KPOP15.iterdir() if p.is_dir())
    canvas = Image.new("RGB", (4032, 3024), (200, 200, 200))
    size = 44
    spots = [(10 + (i % 4) * 1300, 10 + (i // 4) * 1450) for i in range(12)]
    spots = [(min(x, 4032 - size - 10), min(y, 3024 - size - 10)) for x, y in spots]
    spots[1] = (940, 10)  # inside the overlap of the first two tiles
    def face_of(member: Path, side: int) -> Image.Image:
        return Image.open(images_of(member)[0]).convert("RGB").resize((side, side), Image.Resampling.LANCZOS)

    for member, spot in zip(members, spots):
        canvas.paste(face_of(member, size), spot)
    canvas.paste(face_of(members[12], 900), (1500, 1000))
    centres = [(x + size / 2, y + size / 2) for x, y in spots] + [(1950, 1450)]
    image = np.asarray(canvas)

    def found(faces: list[Face]) -> list[bool]:
        return [any(f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3] for f in faces) for x, y in centres]

    first_pass = found(create_detector("yunet", fine_side=None).detect(image))
    assert first_pass[-1] and sum(first_pass[:-1]) <= 2
    faces = create_detector("yunet").detect(image)
    hits = found(faces)
    assert hits[-1] and sum(hits[:-1]) >= 10, hits
    assert len(faces) == sum(hits), "a face found twice, or something that is not one"
    assert _largest(faces).box[2] - _largest(faces).box[0] > 600, "the large face was broken into pieces"
