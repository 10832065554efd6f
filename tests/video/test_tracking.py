"""The tracker on boxes and embeddings laid out by hand: motion, crossing faces, gaps, cuts; and the cut detector."""

from __future__ import annotations

import numpy as np

from whosthat.video.shots import CutDetector
from whosthat.video.tracking import Tracker, box_overlap
from whosthat.vision.face import Face

A, B = np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]


def _face(x: float, y: float = 100, side: float = 80) -> Face:
    return Face(box=np.array([x, y, x + side, y + side]), landmarks=None, score=0.9)


def test_a_moving_face_stays_one_track() -> None:
    tracker = Tracker(max_gap=20)
    for k in range(8):
        tracker.update(10 * k, k / 3, [_face(100 + 30 * k)], A[None])
    tracks = tracker.finish()
    assert len(tracks) == 1 and len(tracks[0].sightings) == 8


def test_the_predicted_box_follows_the_motion() -> None:
    """Faces 60 px apart between analysed frames of 80 px boxes overlap by 14 % only: once the track has
    moved, its motion carries it on; a face that jumps so from a standstill starts another track."""
    assert box_overlap(_face(100).box[None], _face(160).box[None])[0, 0] < 0.2
    tracker = Tracker(max_gap=20)
    for k, x in enumerate([100, 140, 200, 260, 320]):
        tracker.update(10 * k, k / 3, [_face(x)], A[None])
    assert [len(t.sightings) for t in tracker.finish()] == [5]
    tracker = Tracker(max_gap=20)
    for k, x in enumerate([100, 100, 160]):
        tracker.update(10 * k, k / 3, [_face(x)], A[None])
    assert [len(t.sightings) for t in tracker.finish()] == [2, 1]


def test_two_faces_side_by_side_keep_their_tracks_when_they_swap_order_in_the_list() -> None:
    tracker = Tracker(max_gap=20)
    first = tracker.update(0, 0.0, [_face(100), _face(300)], np.stack([A, B]))
    second = tracker.update(10, 0.3, [_face(310), _face(110)], np.stack([B, A]))
    assert second == first[::-1]


def test_embeddings_decide_between_two_overlapping_candidates() -> None:
    """Two faces close together move into each other's place: the boxes overlap both tracks, the embeddings
    say which is which."""
    tracker = Tracker(max_gap=20)
    first = tracker.update(0, 0.0, [_face(100), _face(140)], np.stack([A, B]))
    second = tracker.update(10, 0.3, [_face(125), _face(115)], np.stack([B, A]))
    assert second == first[::-1]


def test_a_long_gap_or_a_cut_ends_a_track() -> None:
    tracker = Tracker(max_gap=20)
    tracker.update(0, 0.0, [_face(100)], A[None])
    tracker.update(20, 0.7, [_face(100)], A[None])  # 20 frames later: still the same track
    tracker.update(50, 1.7, [_face(100)], A[None])  # 30 frames later: a new one
    tracker.update(60, 2.0, [_face(100)], A[None], cut=True)  # a new shot: a new one
    assert [[s.frame for s in t.sightings] for t in tracker.finish()] == [[0, 20], [50], [60]]


def test_cuts_are_found_and_pans_are_not() -> None:
    rng = np.random.default_rng(0)
    scene = rng.integers(0, 256, (360, 1200, 3), np.uint8)
    scene[:, :600] //= 3  # a darker half, so that the two shots differ in their colours
    is_cut = CutDetector()
    assert not is_cut(scene[:, 600:1200])
    assert not is_cut(scene[:, 560:1160])  # the camera pans by 40 px
    assert is_cut(scene[:, :600])  # another shot
    assert not is_cut(scene[:, 20:620])
