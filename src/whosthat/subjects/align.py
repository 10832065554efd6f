"""Alignment: warp a face so that its five landmarks land on a canonical template."""

from __future__ import annotations

import cv2
import numpy as np

from whosthat.face import Face

#: The five-point template of ArcFace/InsightFace in a 112x112 chip (eyes, nose, mouth corners).
_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def template(size: int, zoom: float = 1.0) -> np.ndarray:
    """The five-point template for a `size` chip; zoom < 1 leaves more margin around the face."""
    centre = np.array([56.0, 56.0], np.float32)
    return ((_TEMPLATE_112 - centre) * zoom + centre) * (size / 112.0)


def align(image: np.ndarray, face: Face, size: int, zoom: float = 1.0) -> np.ndarray:
    """A (size, size, 3) chip of the face, aligned by its landmarks (or its box when it has none)."""
    if face.landmarks is None:
        return crop_box(image, face.box, size)
    matrix, _ = cv2.estimateAffinePartial2D(face.landmarks, template(size, zoom), method=cv2.LMEDS)
    if matrix is None:
        return crop_box(image, face.box, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def crop_box(image: np.ndarray, box: np.ndarray, size: int, margin: float = 0.0) -> np.ndarray:
    """The square centred on the box, as wide as its longer side plus `margin` of it on each side, scaled to
    (size, size) (the image's edge pixels repeated where it reaches outside): subjects without landmarks,
    and the face thumbnails of the report and the web page."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    scale = size / max(side, 1.0)
    matrix = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]], np.float32)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.warpAffine(image, matrix, (size, size), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
