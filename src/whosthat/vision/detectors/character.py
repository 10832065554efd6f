"""Drawn characters: the most face-like region YuNet sees in an illustration, else the whole picture."""

from __future__ import annotations

import numpy as np

from whosthat.vision.detectors.registry import DETECTORS
from whosthat.vision.detectors.yunet import YuNet
from whosthat.vision.face import Face

#: YuNet scores drawn faces lower than photographed ones: a low score on pictures scaled down finds
#: most drawn faces (bench/README.md, "Settings and what chose them").
CHARACTER_SCORE = 0.3
CHARACTER_MAX_SIDE = 640


@DETECTORS.register("character")
class CharacterFinder:
    """The drawn faces YuNet finds at a low threshold, most confident first; the whole image when there is none."""

    name = "character"

    def __init__(self, score_threshold: float = CHARACTER_SCORE, max_side: int = CHARACTER_MAX_SIDE) -> None:
        self._faces = YuNet(score_threshold=score_threshold, max_side=max_side, fine_side=None)

    @property
    def identity(self) -> str:
        return f"character[{self._faces.identity}]"

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces found, or one whole-image subject."""
        faces = self._faces.detect(image)
        return faces or [Face.whole_image(image.shape[1], image.shape[0])]
