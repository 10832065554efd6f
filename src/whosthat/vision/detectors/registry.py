"""The detectors by name: the names are known here before any detector module is imported (they load
OpenCV), and building one imports its module (`whosthat.core.registry`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.registry import Registry

if TYPE_CHECKING:
    from whosthat.vision.detectors.base import Detector

DETECTORS: Registry[Detector] = Registry("detector", {
    "yunet": "whosthat.vision.detectors.yunet",
    "whole": "whosthat.vision.detectors.whole",
    "character": "whosthat.vision.detectors.character",
})
