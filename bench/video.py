"""Videos: faces named per track (the frames of a track pooled) against per frame, and how fast, on a 1080p clip.

The clip is a slideshow made from photos the model never saw: the default model is trained on
blackpink/photos with whosthat's default split (seed 0), and the clip shows test photos of that
split in which the detector finds exactly one face. Each member is shown in turn for several
seconds, a few of their photos one after another (SHOT seconds each, panning and zooming in), then
pairs of members side by side. The face boxes of every frame are known, so each face found is
scored against its member:
- `per frame`: each analysed frame's faces named alone, as photos are (`naming.frame_labels`);
- `per track`: each face named as its track is (`naming.name_tracks`, the default).
Speed: `analyse` and naming over the whole clip at each `--every` (every k-th frame searched for
faces, the others only decoded), in frames per second and times real time; and writing the
annotated copy once, at the default.

    .venv/bin/python bench/video.py                          # trains the model (about 2 minutes on 2 cores)
    .venv/bin/python bench/video.py --model bp.wt --every 5 10 15 --keep clip.mp4
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

import whosthat
from accuracy import DATASETS, markdown
from whosthat.training.folder import content_keys, scan, stratified_split
from whosthat.video import DEFAULT_EVERY, VideoWriter, analyse, write_annotated
from whosthat.video.predict import timeline
from whosthat.video.track_names import frame_labels, name_tracks
from whosthat.video.tracking import box_overlap
from whosthat.vision.images import load_image

SIZE = (1920, 1080)
FPS = 30
SHOT = 2.5  # seconds each photo is shown
PHOTOS_PER_MEMBER = 3
FACE_HEIGHT = (200, 260)  # face box height (pixels) at the start and end of a shot: zooming in
PAN = 0.08  # share of the width the face moves across in a shot
MATCH = 0.3  # IoU for a face found to be the shown one


@dataclass(frozen=True)
class Photo:
    """A test photo with one face: its pixels, member and face box."""

    image: np.ndarray
    member: str
    box: np.ndarray


@dataclass(frozen=True)
class Shown:
    """A face on screen in one frame of the clip: whose, and where."""

    member: str
    box: np.ndarray


def single_face_photos(model: whosthat.Model, root: Path, test: Sequence[str]) -> dict[str, list[Photo]]:
    """The test photos in which the model's detector finds exactly one face, per member."""
    photos: dict[str, list[Photo]] = {}
    for relative in test:
        image = load_image(root / relative)
        subjects = model.extract(image)
        if len(subjects.faces) == 1:
            member = relative.split("/")[0]
            photos.setdefault(member, []).append(Photo(image, member, subjects.faces[0].box))
    return photos


def place(photo: Photo, centre: tuple[float, float], face_height: float) -> tuple[np.ndarray, np.ndarray]:
    """The 2x3 affine map that puts the photo's face at `centre` with the face box `face_height` pixels high,
    and the face box on the canvas."""
    x1, y1, x2, y2 = photo.box
    scale = face_height / (y2 - y1)
    shift = np.array(centre) - scale * np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    matrix = np.array([[scale, 0, shift[0]], [0, scale, shift[1]]], np.float32)
    return matrix, np.array([x1, y1, x2, y2]) * scale + np.tile(shift, 2)


def shots(photos: dict[str, list[Photo]]) -> list[list[tuple[Photo, float]]]:
    """The clip's shots: each member's photos alone (centred), then pairs of members side by side; each
    photo with the horizontal position (share of the width) its face starts at."""
    members = sorted(photos)
    out = [[(photo, 0.46)] for member in members for photo in photos[member][:PHOTOS_PER_MEMBER]]
    for a, b in zip(members, members[1:] + members[:1]):
        out.append([(photos[a][PHOTOS_PER_MEMBER % len(photos[a])], 0.26),
                    (photos[b][(PHOTOS_PER_MEMBER + 1) % len(photos[b])], 0.70)])
    return out


def make_clip(path: Path, plan: list[list[tuple[Photo, float]]], write: bool = True) -> list[list[Shown]]:
    """Write the slideshow to `path` (unless `write` is false: it is there already); returns the faces shown in
    each frame."""
    width, height = SIZE
    per_shot = round(SHOT * FPS)
    truth = []
    with VideoWriter(path, FPS, width, height, quality=20) if write else nullcontext() as writer:
        for shot in plan:
            half = width // len(shot)
            for n in range(per_shot):
                progress = n / (per_shot - 1)
                canvas = np.full((height, width, 3), 24, np.uint8)
                shown = []
                for k, (photo, start) in enumerate(shot):
                    face_height = FACE_HEIGHT[0] + progress * (FACE_HEIGHT[1] - FACE_HEIGHT[0])
                    centre = ((start + PAN * progress) * width, 0.42 * height)
                    matrix, box = place(photo, centre, face_height)
                    shown.append(Shown(photo.member, box))
                    if writer is None:
                        continue
                    layer = cv2.warpAffine(photo.image, matrix, SIZE, flags=cv2.INTER_LINEAR,
                                           borderMode=cv2.BORDER_CONSTANT, borderValue=(24, 24, 24))
                    mask = np.zeros((height, width), bool)
                    mask[:, k * half:(k + 1) * half] = True
                    covered = cv2.warpAffine(np.ones(photo.image.shape[:2], np.uint8), matrix, SIZE) > 0
                    canvas[mask & covered] = layer[mask & covered]
                if writer is not None:
                    writer.write(canvas)
                truth.append(shown)
    return truth


def scores(tracks: list, names: list, per_frame: list[list[str]], truth: list[list[Shown]]) -> dict[str, float]:
    """Accuracy per track and per frame over the faces found that are a shown face, and the share of shown
    faces (in analysed frames) that were found."""
    right_track = right_frame = matched = extra = 0
    found: set[tuple[int, int]] = set()
    for track, name, labels in zip(tracks, names, per_frame):
        for sighting, label in zip(track.sightings, labels):
            shown = truth[sighting.frame]
            overlap = box_overlap(sighting.face.box[None], np.stack([s.box for s in shown]))[0]
            best = int(overlap.argmax())
            if overlap[best] < MATCH:
                extra += 1
                continue
            matched += 1
            found.add((sighting.frame, best))
            right_track += name.label == shown[best].member
            right_frame += label == shown[best].member
    return {"per track": right_track / matched, "per frame": right_frame / matched, "matched": matched,
            "extra": extra, "found": len(found)}


def speed(model: whosthat.Model, clip: Path, every: int) -> tuple[tuple, list]:
    """(analysis, names) of the clip at `every`, and the row of its timing: every, tracks, seconds, frames/s,
    real time, CPU seconds per second of video, load average at the start."""
    began, cpu, load = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    analysis = analyse(model, clip, every=every)
    names = name_tracks(model, analysis.tracks)
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return (analysis, names), [f"{every}", len(analysis.tracks), f"{seconds:.1f}", f"{analysis.frames / seconds:.1f}",
                               f"{analysis.duration / seconds:.2f}x", f"{cpu / analysis.duration:.2f}", f"{load:.1f}"]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    parser.add_argument("--model", type=Path, help="a model trained as this script does (saved there when missing)")
    parser.add_argument("--cache-dir", type=Path, help="embedding cache for training (default: a temporary one)")
    parser.add_argument("--every", type=int, nargs="+", default=sorted({5, 10, 15, DEFAULT_EVERY}),
                        help="frames between face searches to time (the accuracy is scored at each)")
    parser.add_argument("--keep", type=Path, help="keep the clip there (and use it when it is there already)")
    parser.add_argument("--speed-only", action="store_true",
                        help="with --model and a --keep clip already made: time each --every, score nothing")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    root = args.datasets / "blackpink" / "photos"
    collection = scan(root)
    split = stratified_split(collection, val_fraction=0.15, test_fraction=0.2, seed=0,
                             keys=content_keys(collection.items))
    with tempfile.TemporaryDirectory(prefix="whosthat-video-") as temporary:
        folder = Path(temporary)
        if args.speed_only:
            print(markdown(["every", "tracks", "seconds", "frames/s", "real time", "CPU s per video s", "load"],
                           [speed(whosthat.load(args.model), args.keep, every)[1] for every in args.every]))
            return
        if args.model is not None and args.model.exists():
            model = whosthat.load(args.model)
        else:
            model = whosthat.train(root, out=args.model, split=split, cache_dir=args.cache_dir or folder / "cache")
        photos = single_face_photos(model, root, split.test)
        plan = shots(photos)
        clip = args.keep or folder / "clip.mp4"
        made = time.perf_counter()
        truth = make_clip(clip, plan, write=not clip.exists())
        print(f"clip: {len(truth)} frames at {FPS} fps ({len(truth) / FPS:.1f} s, {SIZE[0]}x{SIZE[1]}), "
              f"{len(plan)} shots of {SHOT} s from {sum(len(s) for s in plan)} test photos of "
              f"{len(photos)} members, made in {time.perf_counter() - made:.0f} s\n")
        rows = []
        for every in args.every:
            (analysis, names), timing = speed(model, clip, every)
            result = scores(analysis.tracks, names, frame_labels(model, analysis.tracks), truth)
            shown = sum(len(truth[f]) for f in range(0, len(truth), every))
            rows.append([*timing[:2], f"{result['found']}/{shown}", result["extra"], f"{result['per frame']:.1%}",
                         f"{result['per track']:.1%}", *timing[2:]])
            if every == DEFAULT_EVERY:
                began = time.perf_counter()
                write_annotated(timeline(analysis, names), folder / "annotated.mp4")
                annotated = time.perf_counter() - began
        print(markdown(["every", "tracks", "faces found", "other boxes", "named right per frame",
                        "named right per track", "seconds", "frames/s", "real time", "CPU s per video s",
                        "load"], rows))
        if DEFAULT_EVERY in args.every:
            print(f"\nwriting the annotated copy (every {DEFAULT_EVERY}): {annotated:.1f} s, "
                  f"{len(truth) / annotated:.1f} frames/s")
    print(f"\nwall time: {time.perf_counter() - started:.0f} s; load average at start and end: {load_start:.1f}, "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
