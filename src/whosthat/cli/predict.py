"""whosthat predict MODEL IMAGE...: every face of photos and videos named, as a table or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from whosthat.cli.options import add_threshold_option, positive, progress_bar
from whosthat.core.paths import printable
from whosthat.video.defaults import DEFAULT_EVERY

if TYPE_CHECKING:
    from whosthat.models.protocol import Namer
    from whosthat.recognition.prediction import Predictions
    from whosthat.video.predict import Progress


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat predict`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "predict", help="name every face in photos and videos",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat predict blackpink.wt concert.jpg\n"
               "  whosthat predict blackpink.wt photos/ --annotate annotated/ --json > results.jsonl\n"
               "  whosthat predict blackpink.wt clip.mp4 --annotate annotated/   # a timeline of who is on screen\n\n"
               "exit status: 0 when every image and video was read, 1 when any could not be.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("images", type=Path, nargs="+", help="image and video files, or folders (searched recursively)")
    p.add_argument("--json", action="store_true", help="one JSON object per image or video per line")
    p.add_argument("--annotate", type=Path, metavar="DIR", help="write copies with a box and name on every face")
    p.add_argument("--every", type=positive, default=DEFAULT_EVERY, metavar="K",
                   help=f"videos: look for faces in every K-th frame (default: {DEFAULT_EVERY}); faces are tracked "
                        "between them")
    add_threshold_option(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.models.loading import load
    from whosthat.video.reader import is_video_path
    from whosthat.vision.annotate import save_annotated

    model = load(args.model)
    paths, failed = _image_paths(args.images)
    if args.annotate:
        args.annotate.mkdir(parents=True, exist_ok=True)
    # The photos go through together, read and detected in threads and embedded in batches, while the
    # results come out in the order given, videos in their place.
    photos = model.predict_paths([p for p in paths if not is_video_path(p)], threshold=args.threshold,
                                 keep_images=args.annotate is not None)
    for path in paths:
        if is_video_path(path):
            failed += not predict_video_command(model, path, every=args.every, threshold=args.threshold,
                                                json_output=args.json, annotate=args.annotate)
            continue
        result = next(photos)
        failed += result.error is not None
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
        else:
            _print_table(result)
        if result.error is not None:
            if args.json:
                print(f"whosthat: error: {result.error}", file=sys.stderr)
            continue
        if args.annotate:
            target = args.annotate / (path.stem + ".jpg")
            save_annotated(result.annotate(), target)
    return 1 if failed else 0


def _image_paths(inputs: Sequence[Path]) -> tuple[list[Path], int]:
    """Files as given; folders expanded to the images and videos inside them (`whosthat.core.walk`: hidden ones
    left out, each file once), sorted; and the number of folders that could not be opened (one line each on
    stderr)."""
    from whosthat.core.walk import walk
    from whosthat.video.reader import is_video_path
    from whosthat.vision.images import is_image_path

    paths: list[Path] = []
    unreadable = 0
    for path in inputs:
        if _is_dir(path):
            found = walk(path, accept=lambda p: is_image_path(p) or is_video_path(p))
            for folder in found.unreadable:
                print(f"whosthat: error: {printable(str(folder.path))}: folder could not be read ({folder.reason})",
                      file=sys.stderr)
            paths += [file.path for file in found.files]
            unreadable += len(found.unreadable)
        else:
            paths.append(path)
    return paths, unreadable


def _is_dir(path: Path) -> bool:
    """Whether the path is a folder; a name the system refuses to look up (too long) is taken as a file, which
    then fails as one, and the other inputs go on."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _print_table(result: Predictions) -> None:
    if result.error is not None:
        print(f"{result.source}: error: {result.error}")
        return
    faces = "no face found" if not result else f"{len(result)} face{'s' if len(result) > 1 else ''}"
    print(f"{result.source} ({result.width}x{result.height}): {faces}")
    for n, p in enumerate(result, 1):
        x1, y1, x2, y2 = (int(v) for v in p.box)
        others = ", ".join(f"{name} {prob:.0%}" for name, prob in p.top(3) if name != p.label)[:60]
        print(f"  {n:>2}. {p.label:<20} {p.confidence:>5.0%}  box ({x1},{y1})-({x2},{y2})  next: {others}")


def predict_video_command(model: Namer, path: Path, *, every: int = DEFAULT_EVERY, threshold: Optional[float] = None,
                          json_output: bool = False, annotate: Optional[Path] = None,
                          progress: Optional[Progress] = None) -> bool:
    """Name the faces of one video and print its summary table, or with `json_output` its JSON object (one
    line); with `annotate`, write `annotate/<stem>.mp4`. A video that cannot be read gets one error line on
    stderr (and its JSON object with "error" set) and False is returned, so the run goes on with the others.
    `progress`: as `predict_video`'s; by default a bar of frames on stderr when it is a terminal."""
    from whosthat.video.annotated import write_annotated
    from whosthat.video.predict import predict_video
    from whosthat.video.reader import VideoError
    from whosthat.video.timeline import Timeline

    try:
        result = predict_video(model, path, every=every, threshold=threshold,
                               progress=progress or partial(progress_bar, unit="frame"))
    except VideoError as error:
        if json_output:
            print(json.dumps(Timeline.failed(str(path), str(error)).to_dict(), ensure_ascii=False), flush=True)
        print(f"whosthat: error: {error}", file=sys.stderr)
        return False
    print(json.dumps(result.to_dict(), ensure_ascii=False) if json_output else result.format_summary(), flush=True)
    if annotate is not None:
        try:
            write_annotated(result, annotate / f"{path.stem}.mp4")
        except (VideoError, OSError) as error:
            print(f"whosthat: error: {path}: the annotated copy could not be written: {error}", file=sys.stderr)
            return False
    return True
