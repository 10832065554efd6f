"""Perceptual hashes (64-bit dHash and pHash) and their Hamming distances, for finding near-duplicate photos.

A re-encoded, resized or slightly recoloured copy of a photo keeps almost all the bits of both hashes, while two
different photos differ in about half of them. Both are computed on the upright grey image.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy.fft import dctn

_BITS = 1 << np.arange(64, dtype=np.uint64)


def _pack(bits: np.ndarray) -> int:
    return int((bits.reshape(64).astype(np.uint64) * _BITS).sum())


def dhash(image: np.ndarray) -> int:
    """Difference hash: is each pixel of a 9x8 grey thumbnail brighter than its right-hand neighbour."""
    grey = np.asarray(Image.fromarray(image).convert("L").resize((9, 8), Image.Resampling.BOX), np.int16)
    return _pack(grey[:, 1:] > grey[:, :-1])


def phash(image: np.ndarray) -> int:
    """Perceptual hash: the signs of the 8x8 lowest frequencies of a 32x32 grey thumbnail's DCT about their median."""
    grey = np.asarray(Image.fromarray(image).convert("L").resize((32, 32), Image.Resampling.BOX), np.float64)
    low = dctn(grey, norm="ortho")[:8, :8]
    return _pack(low > np.median(low.reshape(64)[1:]))


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) count of differing bits between two arrays of 64-bit hashes."""
    xor = np.bitwise_xor(np.asarray(a, np.uint64)[:, None], np.asarray(b, np.uint64)[None, :])
    return np.unpackbits(xor.view(np.uint8).reshape(*xor.shape, 8), axis=-1).sum(axis=-1, dtype=np.int32)
