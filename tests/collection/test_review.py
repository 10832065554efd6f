"""`Index.review_queue`: the faces whose answer would teach the model most, first, on a real small index of
members, strangers and a group photo."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from whosthat.collection import Index, review
from whosthat.collection.review import BETWEEN_MEMBERS, DOUBTED, NEAR_THRESHOLD, ReviewError, ReviewItem


@pytest.fixture
def opened(built: Index, tmp_path: Path) -> Index:
    """A copy of the collection's index that a test may correct."""
    return Index(shutil.copytree(built.directory, tmp_path / "index"))


def test_every_face_once_the_most_worth_first(opened: Index) -> None:
    """With no limit every face is in the queue once, each with a reason and the model's two likeliest members,
    scores never rising down the queue."""
    queue = opened.review_queue(limit=None)
    keys = [(item.content_hash, item.face) for item in queue]
    faces = opened.store.scan(["content_hash", "face"])
    assert len(keys) == len(set(keys)) == len(set(zip(faces["content_hash"].to_pylist(),
                                                      faces["face"].to_pylist())))
    assert all(item.reason in (NEAR_THRESHOLD, BETWEEN_MEMBERS, DOUBTED) for item in queue)
    scores = [item.score for item in queue]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert all(item.best in opened.members and item.second in opened.members for item in queue)
    with pytest.raises(dataclasses.FrozenInstanceError):
        queue[0].score = 0.0  # type: ignore[misc]
    assert queue[0].to_dict()["path"] == queue[0].path


def test_an_unsure_name_comes_before_a_sure_one(opened: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    """Crowds and discounts aside, the order is the model's unsureness: the named face of the lowest probability
    comes before the surest, and the first face is less sure than the surest."""
    monkeypatch.setattr(review, "CROWD_POWER", 0.0)
    monkeypatch.setattr(review, "TAKEN_DISCOUNT", 1.0)
    queue = opened.review_queue(limit=None)
    named = [item for item in queue if item.name != "unknown"]
    surest = max(named, key=lambda item: item.confidence)
    least_sure = min(named, key=lambda item: item.confidence)
    assert queue.index(least_sure) < queue.index(surest)
    assert queue[0].confidence < surest.confidence and queue[0].score > surest.score


def test_faces_alike_a_taken_one_wait(opened: Index, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a face is taken, the faces alike it are worth less: with no discount the queue's head holds at least
    as many faces alike one another."""
    spread = opened.review_queue(limit=5)
    monkeypatch.setattr(review, "TAKEN_DISCOUNT", 1.0)
    bunched = opened.review_queue(limit=5)
    assert spread[0] == bunched[0]
    assert len({i.path.rsplit("/", 1)[0] for i in spread}) >= len({i.path.rsplit("/", 1)[0] for i in bunched})


def test_the_limit_is_kept_and_checked(opened: Index) -> None:
    """A limit gives the head of the whole queue; a limit that is no count is refused."""
    whole = opened.review_queue(limit=0)
    assert opened.review_queue(limit=3) == whole[:3]
    assert len(opened.review_queue()) == min(20, len(whole))
    for wrong in (-1, 1.5, True):
        with pytest.raises(ReviewError):
            opened.review_queue(limit=wrong)  # type: ignore[arg-type]


def test_corrected_faces_are_left_out(opened: Index) -> None:
    """Faces confirmed, said to be strangers or moved leave the queue; undone, they come back."""
    first: list[ReviewItem] = opened.review_queue(limit=3)
    opened.confirm(first[0].path, first[0].face, first[0].best)
    opened.stranger(first[1].path, first[1].face)
    opened.move(first[2].path, first[2].face, first[2].second or first[2].best)
    left = {(item.content_hash, item.face) for item in opened.review_queue(limit=None)}
    assert not left & {(item.content_hash, item.face) for item in first}
    opened.undo()
    assert (first[2].content_hash, first[2].face) in {(i.content_hash, i.face) for i in opened.review_queue(limit=None)}


def test_an_index_with_every_face_corrected_asks_nothing(opened: Index) -> None:
    for item in opened.review_queue(limit=None):
        opened.stranger(item.path, item.face)
    assert opened.review_queue(limit=None) == []
