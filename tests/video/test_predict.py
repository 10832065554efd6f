"""Videos end to end on clips of held-out blackpink photos: tracks, names, times, JSON, summary, annotated copy,
the command line; and pooling a track's frames against naming each frame alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from video.clips import FPS, SIZE, TILE, Placed, Shot, Tile, make_clip
from whosthat.cli import main
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.models.model import Model
from whosthat.video import Timeline, VideoReader, predict_video, write_annotated
from whosthat.video.predict import analyse
from whosthat.video.track_names import frame_labels, name_tracks
from whosthat.video.tracking import box_overlap

SHOT = 15  # frames: 1.5 s
EVERY = 3


def named_right(tiles: dict[str, list[Tile]]) -> dict[str, Tile]:
    """Per member, the first tile the model names right as a photo on its own."""
    out = {member: next((t for t in found if t.alone == (member,)), None) for member, found in tiles.items()}
    out = {member: tile for member, tile in out.items() if tile is not None}
    assert len(out) >= 3, f"too few held-out tiles named right: {sorted(out)}"
    return out


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory, tiles: dict[str, list[Tile]]
         ) -> tuple[Path, list[str]]:
    """Three shots: member a alone, member b alone, then a and c side by side; returns the clip and [a, b, c]."""
    chosen = named_right(tiles)
    a, b, c = sorted(chosen)[:3]
    path = tmp_path_factory.mktemp("video") / "three shots.mp4"
    make_clip(path, [Shot([Placed([chosen[a]], 200, 80, SHOT)], SHOT),
                     Shot([Placed([chosen[b]], 240, 100, SHOT)], SHOT),
                     Shot([Placed([chosen[a]], 40, 60, SHOT), Placed([chosen[c]], 400, 90, SHOT)], SHOT)])
    return path, [a, b, c]


@pytest.fixture(scope="module")
def timeline(clip: tuple[Path, list[str]], blackpink_model: Model) -> Timeline:
    return predict_video(blackpink_model, clip[0], every=EVERY)


def test_each_shot_gives_tracks_named_for_who_is_in_it(timeline: Timeline, clip: tuple[Path, list[str]]) -> None:
    a, b, c = clip[1]
    assert (timeline.width, timeline.height, timeline.fps, timeline.frames) == (*SIZE, FPS, 3 * SHOT)
    assert timeline.duration == pytest.approx(3 * SHOT / FPS)
    assert len(timeline.tracks) == 4, [(t.label, t.first, t.last) for t in timeline.tracks]
    first, second, *pair = timeline.tracks
    assert (first.label, second.label) == (a, b)
    assert sorted(t.label for t in pair) == sorted([a, c]), "two faces at once are two members"
    shot = SHOT / FPS
    assert first.first == 0.0 and first.last == pytest.approx(shot - 0.3)  # analysed frames 0, 3, ..., 12
    assert second.first == pytest.approx(shot) and pair[0].first == pair[1].first == pytest.approx(2 * shot)
    assert all(len(t.boxes) == SHOT // EVERY for t in timeline.tracks)
    assert all(0.5 < t.confidence <= 1.0 for t in timeline.tracks)


def test_the_boxes_follow_the_faces(timeline: Timeline) -> None:
    """The first shot's tile starts at (200, 80) and drifts 2 px right and 1 px down every other frame; the
    face fills about the middle half of the tile."""
    for box in timeline.tracks[0].boxes:
        x, y = 200 + 2 * box.frame, 80 + box.frame // 2
        truth = np.array([x + TILE / 4, y + TILE / 4, x + 3 * TILE / 4, y + 3 * TILE / 4])
        assert box_overlap(box.box[None], truth[None])[0, 0] > 0.4


def test_the_json_object(timeline: Timeline, clip: tuple[Path, list[str]]) -> None:
    data = json.loads(json.dumps(timeline.to_dict()))
    assert set(data) == {"video", "width", "height", "fps", "duration", "frames", "every", "tracks", "error"}
    assert (data["video"], data["frames"], data["every"], data["error"]) == (str(clip[0]), 3 * SHOT, EVERY, None)
    track = data["tracks"][0]
    assert set(track) == {"track", "label", "confidence", "probabilities", "first", "last", "boxes"}
    assert track["track"] == 1 and track["label"] == clip[1][0]
    assert sum(track["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert track["boxes"][1] == {"time": 0.3, "frame": 3, "box": track["boxes"][1]["box"],
                                 "detection_score": track["boxes"][1]["detection_score"]}
    assert len(track["boxes"][1]["box"]) == 4


def test_the_summary_says_who_appears_for_how_long(timeline: Timeline, clip: tuple[Path, list[str]]) -> None:
    a, b, c = clip[1]
    summary = timeline.format_summary()
    head, columns, *rows = summary.splitlines()
    assert head.startswith(f"{clip[0]} (640x360, 4.5 s at 10 fps, 45 frames, faces looked for in every 3rd): 4 tracks")
    assert columns.split() == ["name", "on", "screen", "share", "tracks", "first", "seen"]
    # each analysed frame stands for the 3 frames around it: a is on screen over frames 0-13 and 29-43
    assert rows[0].split() == [a, "2.9", "s", "64%", "2", "0.0", "s"], summary
    assert sorted(r.split()[0] for r in rows[1:]) == sorted([b, c])
    assert {r.split()[0]: r.split()[1] for r in rows}[b] == "1.5"


def test_the_annotated_copy_has_every_frame_with_the_names_drawn(timeline: Timeline, clip: tuple[Path, list[str]],
                                                                 tmp_path: Path) -> None:
    out = write_annotated(timeline, tmp_path / "annotated.mp4")
    with VideoReader(clip[0]) as original, VideoReader(out) as annotated:
        assert (annotated.info.width, annotated.info.height) == SIZE
        before, after = list(original.frames()), list(annotated.frames())
    assert len(after) == len(before) == 3 * SHOT
    changed = [float(np.abs(x.image.astype(int) - y.image.astype(int)).mean()) for x, y in zip(before, after)]
    assert min(changed) > 1.0, "a box and a name are drawn on every frame"


def test_the_command_line_takes_videos_beside_photos(tmp_path: Path, clip: tuple[Path, list[str]],
                                                     blackpink_model_file: Path, tiles: dict[str, list[Tile]],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(clip[0].read_bytes())
    (folder / "broken.mov").write_text("not a video\n")
    Image.fromarray(next(iter(tiles.values()))[0].image).save(folder / "photo.jpg")
    annotated = tmp_path / "annotated"
    status = main(["predict", str(blackpink_model_file), str(folder), "--json", "--every", "5",
                   "--annotate", str(annotated)])
    out, err = capsys.readouterr()
    assert status == 1
    objects = [json.loads(line) for line in out.splitlines()]
    assert [o.get("video", o.get("image")) for o in objects] == [str(folder / n) for n in
                                                                 ("broken.mov", "clip.mp4", "photo.jpg")]
    assert objects[0]["error"] == f"{folder / 'broken.mov'}: not a video file whosthat can read"
    assert objects[1]["every"] == 5 and [t["label"] for t in objects[1]["tracks"]][:2] == clip[1][:2]
    assert err.strip() == f"whosthat: error: {folder / 'broken.mov'}: not a video file whosthat can read"
    assert sorted(p.name for p in annotated.iterdir()) == ["clip.mp4", "photo.jpg"]
    with VideoReader(annotated / "clip.mp4") as reader:
        assert len(list(reader.frames())) == 3 * SHOT

    assert main(["predict", str(blackpink_model_file), str(folder / "clip.mp4"), "--every", "15"]) == 0
    summary = capsys.readouterr().out
    assert summary.startswith(f"{folder / 'clip.mp4'} (640x360, 4.5 s at 10 fps, 45 frames") and clip[1][1] in summary


def test_pooling_a_track_beats_naming_its_frames_alone(tmp_path: Path, blackpink_model: Model,
                                                       tiles: dict[str, list[Tile]]) -> None:
    """One shot of one member whose face changes from photo to photo (as a face turns), some of which the
    model names wrong on their own: per frame those frames are wrong, the track pooled over all of them is right."""
    member, right, wrong = None, [], []
    for name, found in tiles.items():
        right = [t for t in found if t.alone == (name,)]
        wrong = [t for t in found if t.alone and t.alone != (name,)]
        if len(wrong) >= 1 and len(right) >= 2 * len(wrong):
            member = name
            break
    assert member is not None, "no member with held-out photos named wrong on their own beside twice as many right"
    faces = (right[:2 * len(wrong[:2])] + wrong[:2])
    order = [faces[k] for k in np.random.default_rng(0).permutation(len(faces))]
    path = tmp_path / "turning.mp4"
    make_clip(path, [Shot([Placed(order, 240, 100, 4)], 4 * len(order) * 2)])
    analysis = analyse(blackpink_model, path, every=2)
    names = name_tracks(blackpink_model, analysis.tracks)
    per_frame = frame_labels(blackpink_model, analysis.tracks)
    pooled = [name.label for name, track in zip(names, analysis.tracks) for _ in track.sightings]
    alone = [label for labels in per_frame for label in labels]
    assert len(analysis.tracks) == 1, "the face stays in place: one track"
    assert np.mean(np.array(alone) == member) < 1.0, "single frames err"
    assert np.mean(np.array(pooled) == member) >= np.mean(np.array(alone) == member)
    assert pooled[0] == member and UNKNOWN_LABEL not in pooled


def test_two_faces_in_one_frame_are_never_one_member(tmp_path: Path, blackpink_model: Model,
                                                     tiles: dict[str, list[Tile]]) -> None:
    """The same photo twice side by side: both tracks are most like one member, only one gets the name."""
    member, tile = next(iter(named_right(tiles).items()))
    path = tmp_path / "twins.mp4"
    make_clip(path, [Shot([Placed([tile], 40, 80, SHOT), Placed([tile], 400, 80, SHOT)], SHOT)])
    timeline = predict_video(blackpink_model, path, every=EVERY)
    assert len(timeline.tracks) == 2
    labels = [t.label for t in timeline.tracks]
    assert labels.count(member) == 1, labels
    other = timeline.tracks[labels.index(member) - 1]
    assert max(other.probabilities, key=other.probabilities.get) == member
