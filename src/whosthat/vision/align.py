"""Alignment: warp a face so that its five landmarks land on a canonical template."""

from __future__ import annotations

import cv2
import numpy as np

from whosthat.vision.face import Face

#: The longest side `cv2.warpAffine` takes (it asserts below SHRT_MAX), and the pixels kept around a chip's
#: preimage for the interpolation's neighbours.
_WARP_LIMIT = 32766
_MARGIN = 2

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
    return warp(image, matrix, size, cv2.INTER_LINEAR)


def crop_box(image: np.ndarray, box: np.ndarray, size: int, margin: float = 0.0) -> np.ndarray:
    """The square centred on the box, as wide as its longer side plus `margin` of it on each side, scaled to
    (size, size) (the image's edge pixels repeated where it reaches outside): subjects without landmarks,
    and the face thumbnails of the report and the web page."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    scale = size / max(side, 1.0)
    matrix = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]], np.float32)
    return warp(image, matrix, size, cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def warp(image: np.ndarray, matrix: np.ndarray, size: int, interpolation: int,
         border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """`cv2.warpAffine` of the image to a (size, size) chip, reading only the region the chip is made from.

    OpenCV refuses to warp an image of SHRT_MAX (32767) pixels or more on a side, which a panorama under
    the pixel limit can be: the warp runs on the region of interest (a few pixels larger than the chip's
    preimage, clipped to the image, so border pixels come out as from the whole image) with the matrix
    shifted to it, and a region still too large is scaled down first.
    """
    matrix = np.asarray(matrix, np.float64)
    height, width = image.shape[:2]
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    preimage = corners @ cv2.invertAffineTransform(matrix).T
    low = np.floor(preimage.min(0)) - _MARGIN
    high = np.ceil(preimage.max(0)) + _MARGIN
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        low, high = np.zeros(2), np.array([width, height], np.float64)
    x1, y1 = int(np.clip(low[0], 0, width - 1)), int(np.clip(low[1], 0, height - 1))
    x2, y2 = int(np.clip(high[0], x1 + 1, width)), int(np.clip(high[1], y1 + 1, height))
    region = image[y1:y2, x1:x2]
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ [x1, y1]
    longest = max(region.shape[:2])
    if longest > _WARP_LIMIT:
        old = np.array([region.shape[1], region.shape[0]], np.float64)
        new = np.maximum(1, np.floor(old * _WARP_LIMIT / longest))
        region = cv2.resize(region, (int(new[0]), int(new[1])), interpolation=cv2.INTER_AREA)
        factor = new / old  # a pixel centre x of the region lands at (x + 0.5) * factor - 0.5
        shifted[:, 2] += shifted[:, :2] @ (0.5 / factor - 0.5)
        shifted[:, :2] /= factor
    return cv2.warpAffine(region, shifted, (size, size), flags=interpolation, borderMode=border)
