"""`Limits`: how much one request may ask of the service (body size, pixels, recognitions at once)."""

from __future__ import annotations

from dataclasses import dataclass

from whosthat.vision.images import MAX_PIXELS

#: Default largest upload: a phone photo is 3-10 MB.
MAX_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """max_bytes: largest request body (413 beyond, checked while it arrives); max_pixels: largest
    image (413 beyond: a possible decompression bomb); recognitions: photos recognised at once (the
    others wait; PyTorch already spreads one recognition over the cores)."""

    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    recognitions: int = 2

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "recognitions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
