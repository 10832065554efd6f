"""The command line: `whosthat train`, `predict`, `evaluate`, `report`, `audit` and `serve`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

from whosthat.audit.defaults import AUDIT_DETECTOR, AUDIT_EMBEDDER
from whosthat.collection.cli import add_collection_commands
from whosthat.core.errors import ImageError, WhosthatError, check_threshold, one_line
from whosthat.core.paths import printable
from whosthat.models.loading import load
from whosthat.recognition.heads import HEADS
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION
from whosthat.recognition.prediction import Predictions
from whosthat.training import DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD, DEFAULT_SUBJECT, TrainingLog, train
from whosthat.training.evaluate import evaluate_folder
from whosthat.training.finetune import RECIPES
from whosthat.training.folder import HELD_OUT_FROM
from whosthat.training.subject import SUBJECTS
from whosthat.version import __version__
from whosthat.video.command import predict_video_command
from whosthat.video.defaults import DEFAULT_EVERY
from whosthat.video.reader import is_video_path
from whosthat.vision.cache import EmbeddingCache, default_cache_dir
from whosthat.vision.detectors import DETECTORS
from whosthat.vision.embedders import EMBEDDERS
from whosthat.vision.embedders.spec import spec_argument, spec_names
from whosthat.vision.images import MAX_PIXELS, is_image_path

EXAMPLES = """examples:
  whosthat train photos/blackpink --out blackpink.wt
  whosthat predict blackpink.wt concert.jpg more_photos/ --annotate annotated/
  whosthat predict blackpink.wt concert.jpg --json
  whosthat evaluate blackpink.wt photos/test
  whosthat report blackpink.wt --out blackpink.html
  whosthat audit photos/blackpink --test-dir photos/test --move-to suspects/
  whosthat serve blackpink.wt --port 8000
  whosthat ensemble frozen.wt finetuned.wt --out both.wt
  whosthat index blackpink.wt ~/Pictures
  whosthat find ~/Pictures --name jennie_kim --with lisa_manoban
  whosthat sort ~/Pictures --into ~/sorted
  whosthat people ~/Pictures --export new_members/
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
        print(f"whosthat: error: {printable(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("whosthat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`whosthat predict ... | head`): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # The last safety net for a file or folder the user named that the system refused (permissions, a
        # folder where a file was expected, a name too long, a full or read-only disk); an OSError without
        # an errno is a bug and keeps its traceback.
        if error.errno is None:
            raise
        names = [str(name) for name in (error.filename, error.filename2) if name is not None]
        where = " -> ".join(names) + ": " if names else ""
        print(f"whosthat: error: {printable(one_line(where + (error.strerror or os.strerror(error.errno)), 500))}",
              file=sys.stderr)
        return 2


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
               "  whosthat train photos/train --test-dir photos/test --head svm --out model.wt\n"
               "  whosthat train anime/train --finetune mobilenetv2 --out anime.wt\n"
               "  whosthat train anime/train --finetune tutorial-cnn --out baseline.wt   # the notebook's CNN\n"
               "  whosthat train anime/train --finetune mobilenetv2 --out anime.wt --resume  # after a stop\n")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>: one sub-folder per person")
    p.add_argument("--out", "-o", type=Path, default=Path("model.wt"), help="model file to write (default: model.wt)")
    p.add_argument("--test-dir", type=Path, help="test photos of your own (same layout; copies of training photos "
                   "are left out); default: a split of FOLDER that keeps identical files in one part")
    p.add_argument("--subject", default=DEFAULT_SUBJECT, choices=["auto", *SUBJECTS],
                   help="what to recognise: 'face' (human faces: YuNet + FaceNet/dlib), 'image' (the whole picture, "
                        "for already-cropped subjects and things that are not faces; ImageNet backbones), 'character' "
                        "(drawn characters: the anime face YuNet finds, else the whole picture) or 'auto' (default: "
                        "each tried on a sample of the photos, the best kept)")
    p.add_argument("--detector", choices=DETECTORS.names(), help="override the subject's detector")
    p.add_argument("--embedder", type=spec_argument, metavar="SPEC",
                   help=f"override the subject's embedder: {', '.join(spec_names())}, or several side by side joined "
                        "by '+' (arcface+facenet+dlib); arcface:PATH takes an InsightFace recognition model (.onnx, or "
                        "a pack folder), which whosthat does not ship (default: $WHOSTHAT_ARCFACE, else "
                        "~/.insightface/models/)")
    p.add_argument("--head", choices=HEADS.names(),
                   help=f"classifier (default: {DEFAULT_FACE_HEAD} on face embeddings, {DEFAULT_IMAGE_HEAD} on the "
                        "ImageNet backbones' features, frozen or fine-tuned)")
    p.add_argument("--finetune", choices=list(RECIPES), metavar="NETWORK",
                   help="train a network end to end on the photos (augmentation, early stopping, a checkpoint per "
                        f"epoch; slow without a GPU): {', '.join(RECIPES)}; the tutorial-* presets are the "
                        "notebooks' models, for comparison")
    p.add_argument("--epochs", type=_positive,
                   help="the most fine-tuning epochs; early stopping on the validation loss may end sooner "
                        f"(default: {', '.join(f'{name} {r.epochs}' for name, r in RECIPES.items())})")
    p.add_argument("--resume", action="store_true", help="continue an interrupted fine-tuning from MODEL.checkpoint")
    p.add_argument("--workers", type=int, help="DataLoader workers for fine-tuning (default: by the number of cores)")
    p.add_argument("--flip", action="store_true",
                   help="average each face's embedding with its mirror image's (twice the time; "
                        "no gain measured on the benchmark sets)")
    p.add_argument("--no-whiten", dest="whiten", action="store_const", const=False, default=None,
                   help="do not learn a within-class whitening of the embeddings (learned by default for faces, "
                        "where it names more faces right and fewer strangers: bench/README.md)")
    p.add_argument("--max-member-rejection", type=_fraction, default=DEFAULT_MAX_MEMBER_REJECTION,
                   metavar="FRACTION",
                   help="share of members the stranger threshold may call unknown, among photos held out "
                        f"while calibrating (default: {DEFAULT_MAX_MEMBER_REJECTION}; higher: fewer strangers named)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation/test split (default: 0)")
    p.add_argument("--val-fraction", type=_fraction, default=0.15, help="share of each class for validation")
    p.add_argument("--test-fraction", type=_fraction, default=0.2, help="share of each class for the test")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report beside the model")
    _add_cache_options(p)
    p.set_defaults(run=_train)

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
    p.add_argument("--every", type=_positive, default=DEFAULT_EVERY, metavar="K",
                   help=f"videos: look for faces in every K-th frame (default: {DEFAULT_EVERY}); faces are tracked "
                        "between them")
    _add_threshold_option(p)
    p.set_defaults(run=_predict)

    p = commands.add_parser(
        "evaluate", help="score a model on labelled photos it never saw",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat evaluate blackpink.wt photos/test\n"
               "  whosthat evaluate blackpink.wt photos/test --threshold 0  # another point (0: even odds)\n\n"
               "Sub-folders named after people the model does not know are scored as strangers. Photos that are\n"
               "copies of the ones the model learned from (the same files) are left out and listed.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    _add_threshold_option(p)
    _add_cache_options(p)
    p.set_defaults(run=_evaluate)

    p = commands.add_parser(
        "report", help="write the HTML report of a model: data, scores, mistakes, stranger threshold, embeddings",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat report blackpink.wt\n  whosthat report blackpink.wt --out report.html\n")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("--out", "-o", type=Path, help="HTML file to write (default: MODEL with .html)")
    p.set_defaults(run=_report)

    p = commands.add_parser(
        "audit", help="find problems in a collection: unreadable files, duplicates, leakage, faces, mislabels, "
                      "imbalance",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat audit photos/blackpink\n"
               "  whosthat audit photos/train --test-dir photos/test --out audit.html --move-to suspects/\n"
               "  whosthat audit --undo suspects/manifest.json\n\n"
               "--move-to moves the suspect photos aside (never deletes them) and writes DIR/manifest.json;\n"
               "--undo puts them back.")
    p.add_argument("folder", type=Path, nargs="?", help="FOLDER/<person>/<photo>")
    p.add_argument("--test-dir", type=Path, help="a test folder to check for photos also in FOLDER (leakage)")
    p.add_argument("--out", "-o", type=Path, help="contact sheet to write (default: <folder name>-audit.html here)")
    p.add_argument("--move-to", type=Path, metavar="DIR", help="move the suspects into DIR, with a manifest")
    p.add_argument("--undo", type=Path, metavar="MANIFEST", help="put back the photos a --move-to manifest lists")
    p.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    p.add_argument("--detector", default=AUDIT_DETECTOR, choices=DETECTORS.names(),
                   help=f"face detector of the face checks (default: {AUDIT_DETECTOR})")
    p.add_argument("--embedder", default=AUDIT_EMBEDDER, choices=EMBEDDERS.names(),
                   help=f"embedding of the mislabel check (default: {AUDIT_EMBEDDER})")
    p.add_argument("--no-faces", action="store_true", help="skip the face and mislabel checks")
    _add_cache_options(p)
    p.set_defaults(run=_audit)

    p = commands.add_parser(
        "serve", help="a web page and REST API that name the faces in uploaded photos, on this machine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat serve blackpink.wt            # then open http://127.0.0.1:8000/\n"
               "  curl -F file=@concert.jpg http://127.0.0.1:8000/v1/predict\n\n"
               "API documentation at /docs. Ctrl-C stops the service.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    p.add_argument("--max-bytes", type=_positive, default=20 * 1024 * 1024, metavar="N",
                   help="largest upload in bytes (default: 20 MiB)")
    p.add_argument("--max-pixels", type=_positive, default=MAX_PIXELS, metavar="N",
                   help=f"largest image in pixels (default: {MAX_PIXELS:,})")
    p.add_argument("--worker-threads", type=_positive, default=2, metavar="N",
                   help="photos recognised at once; more requests wait (default: 2)")
    p.add_argument("--index", type=Path, metavar="DIR",
                   help="a collection index (`whosthat index`) to search from the page and GET /v1/index/find")
    p.set_defaults(run=_serve)
    p = commands.add_parser(
        "ensemble", help="combine models of the same group into one that averages their probabilities",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat ensemble frozen.wt finetuned.wt --out both.wt\n"
               "  whosthat ensemble a.wt b.wt --out both.wt --test-dir photos/test\n\n"
               "  whosthat ensemble frozen.wt finetuned.wt tutorial.wt --best --out best.wt\n\n"
               "The models must know the same people and find them the same way (one --subject). The ensemble\n"
               "is scored on the test photos the models held out (or --test-dir) and the figures kept in it.")
    p.add_argument("models", type=Path, nargs="+", help="model files written by `whosthat train`")
    p.add_argument("--out", "-o", type=Path, required=True, help="model file to write")
    p.add_argument("--best", action="store_true",
                   help="keep the combination of two or more of the models that names their shared validation "
                        "photos best (models trained on one split of one folder; the test photos are not used)")
    p.add_argument("--test-dir", type=Path, help="labelled photos to score it on (default: the models' test split)")
    _add_cache_options(p)
    p.set_defaults(run=_ensemble)
    add_collection_commands(commands)
    return parser


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", type=Path,
                        help=f"where detections and embeddings are cached (default: {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _add_threshold_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", type=_threshold,
                        help="stranger threshold (a log-odds that the face is a member) instead of the calibrated "
                             "one; higher: more faces called unknown (the report lists the points of its curve)")


def _threshold(text: str) -> float:
    """A --threshold: any finite number (`nan` and `inf` are refused, as the REST API refuses them)."""
    try:
        value = float(text)
        check_threshold(value)
    except (ValueError, WhosthatError):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number") from None
    return value


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
    log = TrainingLog(echo=print)
    model = train(args.folder, out=args.out, subject=args.subject, detector=args.detector, embedder=args.embedder,
                  head=args.head, finetune=args.finetune, epochs=args.epochs, resume=args.resume,
                  workers=args.workers, test_dir=args.test_dir, seed=args.seed, val_fraction=args.val_fraction,
                  test_fraction=args.test_fraction, flip=args.flip, whiten=args.whiten,
                  max_member_rejection=args.max_member_rejection,
                  cache_dir=args.cache_dir,
                  use_cache=not args.no_cache, progress=_progress_bars, log=log)
    split = log.split
    if split is None:
        raise RuntimeError("train() returned without recording its split")
    counts = {c: log.counts.get(c, 0) for c in model.classes}
    print(f"classes: {len(model.classes)}: " + ", ".join(f"{c} ({_photos(n)})" for c, n in counts.items()))
    few = {c: n for c, n in counts.items() if n < HELD_OUT_FROM}
    if few:
        print("  too few photos: " + ", ".join(f"{c} ({n})" for c, n in few.items())
              + f": below {HELD_OUT_FROM} none is held out to calibrate or test; 10 or more are named more reliably")
    print(f"split: {len(split.train)} train, {len(split.val)} validation, "
          f"{len(split.test) if not args.test_dir else 'test folder ' + str(args.test_dir)} test (seed {split.seed})")
    if log.notes:
        kinds = Counter(note.kind for note in log.notes)
        print("\nnotes about the photos: " + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
        for note in log.notes[:SHOWN_NOTES]:
            print(f"  {note.path}: {note.message}")
        if len(log.notes) > SHOWN_NOTES:
            print(f"  ... and {len(log.notes) - SHOWN_NOTES} more (all of them are in the model file)")
    calibration = model.calibration
    if calibration is None:
        raise RuntimeError("train() returned an uncalibrated model")
    print(f"\nstranger threshold: {model.threshold:.3f} (calibrated on held-out photos: it called "
          f"{calibration.members_rejected:.1%} of the members unknown and named "
          f"{calibration.strangers_accepted:.1%} of the members held out as strangers)")
    if calibration.index == 0:
        print("  no threshold keeps members first and strangers out on these photos: every face gets a name "
              "(more photos per person, or `predict --threshold`, change that)")
    if log.evaluation is not None:
        print("\ntest photos (never seen in training):")
        print(log.evaluation.format_text())
    print(f"\nmodel written to {args.out} (trained in {log.seconds['total']:.1f} s)")
    if not args.no_report:
        from whosthat.report import write_report

        print(f"report: {write_report(model, args.out.with_suffix('.html'))}")
    return 0


def _photos(n: int) -> str:
    return f"{n} photo" if n == 1 else f"{n} photos"


def _image_paths(inputs: Sequence[Path]) -> list[Path]:
    """Files as given; folders expanded to the images and videos inside them, sorted."""
    paths: list[Path] = []
    for path in inputs:
        if _is_dir(path):
            paths += sorted(p for p in path.rglob("*") if p.is_file() and (is_image_path(p) or is_video_path(p)))
        else:
            paths.append(path)
    return paths


def _is_dir(path: Path) -> bool:
    """Whether the path is a folder; a name the system refuses to look up (too long) is taken as a file, which
    then fails as one, and the other inputs go on."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _predict(args: argparse.Namespace) -> int:
    model = load(args.model)
    failed = 0
    if args.annotate:
        args.annotate.mkdir(parents=True, exist_ok=True)
    for path in _image_paths(args.images):
        if is_video_path(path):
            failed += not predict_video_command(model, path, every=args.every, threshold=args.threshold,
                                                json_output=args.json, annotate=args.annotate)
            continue
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
    model = load(args.model)
    evaluation = evaluate_folder(model, args.folder, cache=_cache(args), threshold=args.threshold,
                                 progress=_progress_bars)
    if args.json:
        print(json.dumps(evaluation.to_dict(), ensure_ascii=False))
    else:
        print(evaluation.format_text())
    return 0


def _report(args: argparse.Namespace) -> int:
    from whosthat.report import write_report

    model = load(args.model)
    print(f"report: {write_report(model, args.out or args.model.with_suffix('.html'))}")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from whosthat.audit import audit, audit_extractor, move_suspects, undo_moves, write_contact_sheet

    if args.undo is not None:
        if args.folder is not None or args.move_to is not None:
            raise WhosthatError("--undo MANIFEST takes no FOLDER and no --move-to")
        log = undo_moves(args.undo)
        for problem in log.problems:
            print(f"whosthat: warning: {problem}", file=sys.stderr)
        print(f"put back {len(log.done)} photos listed in {log.manifest}")
        return 1 if log.problems else 0
    if args.folder is None:
        raise WhosthatError("audit needs a FOLDER (or --undo MANIFEST)")
    extractor = None if args.no_faces else audit_extractor(args.detector, args.embedder)
    result = audit(args.folder, test_dir=args.test_dir, extractor=extractor, cache=_cache(args),
                   progress=_progress_bars)
    sheet = write_contact_sheet(result, args.out or Path(f"{result.root.resolve().name}-audit.html"))
    notes = sys.stderr if args.json else sys.stdout
    print(json.dumps(result.to_dict(), ensure_ascii=False) if args.json else result.format_text())
    print(f"\ncontact sheet: {sheet}", file=notes)
    if args.move_to is not None:
        log = move_suspects(result, args.move_to)
        for problem in log.problems:
            print(f"whosthat: warning: {problem}", file=sys.stderr)
        print(f"moved {len(log.done)} photos to {args.move_to}; put them back with: "
              f"whosthat audit --undo {log.manifest}", file=notes)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _serve(args: argparse.Namespace) -> int:
    from whosthat.serve import Limits, serve

    serve(args.model, host=args.host, port=args.port,
          limits=Limits(max_bytes=args.max_bytes, max_pixels=args.max_pixels, recognitions=args.worker_threads),
          index=args.index)
    return 0


def _ensemble(args: argparse.Namespace) -> int:
    from whosthat.models.ensemble import Ensemble
    from whosthat.models.model import Model
    from whosthat.training.ensembles import evaluate_shared_test, rank_combinations

    paths = list(args.models)
    members = []
    for path in paths:
        member = load(path)
        if not isinstance(member, Model):
            raise WhosthatError(f"{path}: an ensemble already; combine the single models it was made of")
        members.append(member)
    if len(members) < 2:
        raise WhosthatError("an ensemble needs at least two models")
    if args.best:
        ranked = rank_combinations(members, min_members=1)
        print(f"validation accuracy ({ranked[0].photos} photos, each head scored before it learned from them):")
        for combination in ranked:
            print(f"  {combination.accuracy:6.1%}  {' + '.join(str(paths[k]) for k in combination.members)}")
        best = next((c for c in ranked if len(c.members) > 1), None)
        if best is None:
            raise WhosthatError("no two of these models find their subjects the same way (one --subject): "
                                "there is no ensemble to choose")
        paths, members = [paths[k] for k in best.members], [members[k] for k in best.members]
        print(f"keeping {' + '.join(map(str, paths))}\n")
    ensemble = Ensemble(members)
    cache = _cache(args)
    if args.test_dir:
        evaluation = evaluate_folder(ensemble, args.test_dir, cache=cache, progress=_progress_bars)
        ensemble.test = evaluation.record(args.test_dir)
    else:
        ensemble.test = evaluate_shared_test(ensemble, cache=cache)
    for path, member in zip(paths, members):
        accuracy = f"{member.test.metrics.accuracy:.1%}" if member.test is not None else "not scored"
        print(f"{path}: {member.embedder.name} + {member.recogniser.head}, test accuracy {accuracy}")
    if ensemble.test is not None:
        print(f"\nensemble on {'the test folder' if args.test_dir else 'the test photos the models held out'}:")
        print(ensemble.test.metrics.format_text())
    else:
        print("\nthe models held out different test photos (or they are gone): use --test-dir to score the ensemble")
    ensemble.save(args.out)
    print(f"\nensemble of {len(members)} models written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
