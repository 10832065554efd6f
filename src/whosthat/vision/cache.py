"""SQLite cache of detections and embeddings, keyed by image content and pipeline identity.

Training again on the same photos re-embeds nothing, and moving or renaming them keeps the
cache valid, because the key is the SHA-256 of the file's bytes, not its path. Detections are
also kept per detector alone, so another embedder (or a network fine-tuned on the photos) reuses
the faces already found. WAL mode makes it safe for several processes at once and for a run
that is killed midway.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path
from typing import Optional

import numpy as np
import platformdirs

from whosthat.vision.face import Face

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    image TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    faces BLOB NOT NULL,
    embeddings BLOB NOT NULL,
    dim INTEGER NOT NULL,
    PRIMARY KEY (image, pipeline)
);
CREATE TABLE IF NOT EXISTS detections (
    image TEXT NOT NULL,
    detector TEXT NOT NULL,
    faces BLOB NOT NULL,
    PRIMARY KEY (image, detector)
)
"""


def default_cache_dir() -> Path:
    """`$WHOSTHAT_CACHE_DIR`, else the user's cache directory (honouring `$XDG_CACHE_HOME`)."""
    override = os.environ.get("WHOSTHAT_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir("whosthat"))


def content_hash(data: bytes) -> str:
    """The cache key of an image file: SHA-256 of its bytes, hex."""
    return hashlib.sha256(data).hexdigest()


class EmbeddingCache:
    """Faces and their embeddings per (image content hash, pipeline identity), and faces alone per
    (image content hash, detector identity)."""

    def __init__(self, directory: Optional[Path] = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "embeddings.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.commit()

    def get(self, image: str, pipeline: str) -> Optional[tuple[list[Face], np.ndarray]]:
        """The cached faces and (n, dim) embeddings of an image, or None when not cached."""
        with self._lock:
            row = self._db.execute(
                "SELECT faces, embeddings, dim FROM subjects WHERE image = ? AND pipeline = ?", (image, pipeline)
            ).fetchone()
        if row is None:
            return None
        faces = _faces_from_blob(row[0])
        embeddings = np.frombuffer(row[1], dtype=np.float32).reshape(len(faces), row[2])
        return faces, embeddings.copy()

    def put(self, image: str, pipeline: str, faces: list[Face], embeddings: np.ndarray) -> None:
        """Store an image's faces and embeddings (replacing any earlier entry)."""
        data = np.ascontiguousarray(embeddings, dtype=np.float32)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO subjects VALUES (?, ?, ?, ?, ?)",
                (image, pipeline, _faces_to_blob(faces), data.tobytes(), data.shape[1]),
            )
            self._db.commit()

    def get_faces(self, image: str, detector: str) -> Optional[list[Face]]:
        """The faces a detector (by identity) found in an image, or None when not cached."""
        with self._lock:
            row = self._db.execute(
                "SELECT faces FROM detections WHERE image = ? AND detector = ?", (image, detector)
            ).fetchone()
        return None if row is None else _faces_from_blob(row[0])

    def put_faces(self, image: str, detector: str, faces: list[Face]) -> None:
        """Store the faces a detector found in an image (replacing any earlier entry)."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO detections VALUES (?, ?, ?)",
                             (image, detector, _faces_to_blob(faces)))
            self._db.commit()

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()


def _faces_to_blob(faces: list[Face]) -> bytes:
    rows = np.stack([f.to_array() for f in faces]) if faces else np.zeros((0, 15), np.float32)
    return rows.tobytes()


def _faces_from_blob(blob: bytes) -> list[Face]:
    return [Face.from_array(r) for r in np.frombuffer(blob, dtype=np.float32).reshape(-1, 15)]
