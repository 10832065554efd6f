"""The command line: `whosthat train`, `predict` and `evaluate`."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

from whosthat import __version__
from whosthat.cache import EmbeddingCache, default_cache_dir
from whosthat.embedders import EMBEDDERS
from whosthat.errors import ImageError, WhosthatError
from whosthat.evaluate import evaluate_folder
from whosthat.heads import HEADS
from whosthat.images import is_image_path
from whosthat.model import Model
from whosthat.prediction import Predictions
from whosthat.subjects import DETECTORS
from whosthat.train import DEFAULT_DETECTOR, DEFAULT_EMBEDDER, DEFAULT_HEAD, TrainingLog, train

EXAMPLES = """examples:
  whosthat train photos/blackpink --out blackpink.wt
  whosthat predict blackpink.wt concert.jpg more_photos/ --annotate annotated/
  whosthat predict blackpink.wt concert.jpg --json
  whosthat evaluate blackpink.wt photos/test
"""

SHOWN_NOTES = 12


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `whosthat` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except WhosthatError as error:
        print(f"whosthat: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("whosthat: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its sub-commands (kept separate so tests and docs can read it)."""
    parser = argparse.ArgumentParser(
        prog="whosthat", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Learn the members of a group from a folder of photos per person, then name every face.")
    parser.add_argument("--version", action="version", version=f"whosthat {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")

    p = commands.add_parser(
        "train", help="learn the members from a folder with one sub-folder of photos per person",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat train photos/blackpink --out blackpink.wt\n"
               "  whosthat train photos/train --test-dir photos/test --head svm --out model.wt\n")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>: one sub-folder per person")
    p.add_argument("--out", "-o", type=Path, default=Path("model.wt"), help="model file to write (default: model.wt)")
    p.add_argument("--test-dir", type=Path, help="test photos of your own (same layout); default: a split of FOLDER")
    p.add_argument("--detector", default=DEFAULT_DETECTOR, choices=DETECTORS.names(),
                   help=f"how faces are found (default: {DEFAULT_DETECTOR}; 'whole' for photos that are face crops)")
    p.add_argument("--embedder", default=DEFAULT_EMBEDDER, choices=EMBEDDERS.names(),
                   help=f"face embedding (default: {DEFAULT_EMBEDDER})")
    p.add_argument("--head", default=DEFAULT_HEAD, choices=HEADS.names(), help=f"classifier (default: {DEFAULT_HEAD})")
    p.add_argument("--flip", action="store_true",
                   help="average each face's embedding with its mirror image's (twice the time; "
                        "no gain measured on the benchmark sets)")
    p.add_argument("--max-member-rejection", type=_fraction, default=0.03, metavar="FRACTION",
                   help="share of members the stranger threshold may call unknown on validation photos "
                        "(default: 0.03; higher: fewer strangers given a name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation/test split (default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.15, help="share of each class for validation")
    p.add_argument("--test-fraction", type=_fraction, default=0.2, help="share of each class for the test")
    _add_cache_options(p)
    p.set_defaults(run=_train)

    p = commands.add_parser(
        "predict", help="name every face in photos",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat predict blackpink.wt concert.jpg\n"
               "  whosthat predict blackpink.wt photos/ --annotate annotated/ --json > results.jsonl\n\n"
               "exit status: 0 when every image was read, 1 when any could not be.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("images", type=Path, nargs="+", help="image files or folders (searched recursively)")
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    p.add_argument("--annotate", type=Path, metavar="DIR", help="write copies with a box and name on every face")
    p.add_argument("--threshold", type=float,
                   help="stranger threshold (probability + similarity, -1 to 2) instead of the calibrated one; "
                        "higher: more faces called unknown")
    p.set_defaults(run=_predict)

    p = commands.add_parser(
        "evaluate", help="score a model on labelled photos it never saw",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat evaluate blackpink.wt photos/test\n\n"
               "Sub-folders named after people the model does not know are scored as strangers.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    _add_cache_options(p)
    p.set_defaults(run=_evaluate)
    return parser


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path,
                        help=f"where detections and embeddings are cached (default: {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction in [0, 1)")
    return value


def _progress_bars(label: str, total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="photo", file=sys.stderr, disable=None, leave=False)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


def _cache(args: argparse.Namespace) -> Optional[EmbeddingCache]:
    return None if args.no_cache else EmbeddingCache(args.cache_dir)


def _train(args: argparse.Namespace) -> int:
    log = TrainingLog()
    model = train(args.folder, out=args.out, detector=args.detector, embedder=args.embedder, head=args.head,
                  test_dir=args.test_dir, seed=args.seed, val_fraction=args.val_fraction,
                  test_fraction=args.test_fraction, flip=args.flip, max_member_rejection=args.max_member_rejection,
                  cache_dir=args.cache_dir,
                  use_cache=not args.no_cache, progress=_progress_bars, log=log)
    split = log.split
    print(f"classes: {len(model.classes)}: " + ", ".join(f"{c} ({log.counts.get(c, 0)} photos)" for c in model.classes))
    print(f"split: {len(split.train)} train, {len(split.val)} validation, "
          f"{len(split.test) if not args.test_dir else 'test folder ' + str(args.test_dir)} test (seed {split.seed})")
    if log.notes:
        kinds = Counter(note.kind for note in log.notes)
        print("\nnotes about the photos: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
        for note in log.notes[:SHOWN_NOTES]:
            print(f"  {note.path}: {note.message}")
        if len(log.notes) > SHOWN_NOTES:
            print(f"  ... and {len(log.notes) - SHOWN_NOTES} more (all of them are in the model file)")
    print(f"\nstranger threshold: {model.threshold:.3f} (probability + similarity; calibrated on validation faces)")
    if log.evaluation is not None:
        print("\ntest photos (never seen in training):")
        print(log.evaluation.format_text())
    print(f"\nmodel written to {args.out} (trained in {log.seconds['total']:.1f} s)")
    return 0


def _image_paths(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; folders expanded to the images inside them, sorted."""
    paths: list[Path] = []
    for path in inputs:
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*") if p.is_file() and is_image_path(p))
        else:
            paths.append(path)
    return paths


def _predict(args: argparse.Namespace) -> int:
    model = Model.load(args.model)
    failed = 0
    if args.annotate:
        args.annotate.mkdir(parents=True, exist_ok=True)
    for path in _image_paths(args.images):
        try:
            result = model.predict(path, threshold=args.threshold)
        except ImageError as error:
            failed += 1
            result = Predictions([], str(path), 0, 0, error=str(error))
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
            result.annotate().save(target, quality=92)
    return 1 if failed else 0


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


def _evaluate(args: argparse.Namespace) -> int:
    model = Model.load(args.model)
    evaluation = evaluate_folder(model, args.folder, cache=_cache(args), progress=_progress_bars)
    if args.json:
        print(json.dumps(evaluation.to_dict(), ensure_ascii=False))
    else:
        print(evaluation.format_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
