"""`--subject auto` on real collections: drawn characters go to the whole-picture pipeline, people to faces."""

from __future__ import annotations

from pathlib import Path

from whosthat.cache import EmbeddingCache
from whosthat.dataset import scan
from whosthat.subjects.choose import choose_subject


def test_anime_crops_are_seen_as_images(anime_train_dir: Path, session_cache: Path) -> None:
    choice = choose_subject(scan(anime_train_dir).items, cache=EmbeddingCache(session_cache))
    assert choice.subject in ("image", "character"), choice.reason
    assert choice.embedder == "mobilenetv2+efficientnet-lite0"
    assert choice.scores[choice.subject] > choice.scores["face"]
    assert all(kind in choice.reason for kind in ("image", "character", "face"))


def test_idol_photos_are_seen_as_faces(kpop_train_dir: Path, session_cache: Path) -> None:
    choice = choose_subject(scan(kpop_train_dir).items, cache=EmbeddingCache(session_cache))
    assert choice.subject == "face", choice.reason
    assert choice.detector == "yunet"
