"""`--subject auto` on real collections: drawn characters go to the picture pipelines, people to faces."""

from __future__ import annotations

from pathlib import Path

from whosthat.training.folder import scan
from whosthat.training.subject import choose_subject, pick
from whosthat.vision.cache import EmbeddingCache


def test_anime_crops_are_not_seen_as_faces(anime_train_dir: Path, session_cache: Path) -> None:
    choice = choose_subject(scan(anime_train_dir).items, cache=EmbeddingCache(session_cache))
    assert choice.subject in ("image", "character"), choice.reason
    assert choice.embedder == "mobilenetv2+efficientnet-lite0"
    assert choice.scores[choice.subject] > choice.scores["face"]
    assert all(kind in choice.reason for kind in ("image", "character", "face"))


def test_idol_photos_are_seen_as_faces(kpop_train_dir: Path, session_cache: Path) -> None:
    choice = choose_subject(scan(kpop_train_dir).items, cache=EmbeddingCache(session_cache))
    assert choice.subject == "face", choice.reason
    assert choice.detector == "yunet"


def test_a_member_with_one_photo_does_not_void_the_choice(kpop_train_dir: Path, session_cache: Path,
                                                           tmp_path: Path) -> None:
    """A class of one photo cannot be cross-validated; the others still decide (it used to score 0 % everywhere)."""
    root = tmp_path / "group"
    for person in sorted(kpop_train_dir.iterdir()):
        (root / person.name).mkdir(parents=True)
        for photo in sorted(person.iterdir())[:8]:
            (root / person.name / photo.name).symlink_to(photo.resolve())
    (root / "newcomer").mkdir()
    (root / "newcomer" / "only.jpg").symlink_to(sorted(next(kpop_train_dir.iterdir()).iterdir())[-1].resolve())
    choice = choose_subject(scan(root).items, cache=EmbeddingCache(session_cache))
    assert choice.subject == "face", choice.reason
    assert choice.scores["face"] >= 0.8, choice.reason


def test_the_sample_does_not_depend_on_the_order_of_the_photos(anime_train_dir: Path, session_cache: Path) -> None:
    """The sample is drawn by content hash, not by a seed: the same photos listed in another order
    give the same sample and choice, so that models of several seeds can be ensembled."""
    items = scan(anime_train_dir).items
    forward = choose_subject(items, cache=EmbeddingCache(session_cache))
    backward = choose_subject(items[::-1], cache=EmbeddingCache(session_cache))
    assert forward.scores == backward.scores
    assert forward.subject == backward.subject


def test_close_scores_go_to_the_kind_listed_first() -> None:
    """Face, then character (which also copes with whole scenes), then image."""
    assert pick({"face": 0.48, "image": 0.90, "character": 0.88}) == "character"
    assert pick({"face": 0.48, "image": 0.88, "character": 0.90}) == "character"
    assert pick({"face": 0.15, "image": 0.50, "character": 0.42}) == "image"
    assert pick({"face": 0.60, "image": 0.62, "character": 0.30}) == "face"
    assert pick({"face": 0.20, "image": 0.90, "character": 0.30}) == "image"
