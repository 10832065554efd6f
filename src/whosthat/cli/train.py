"""whosthat train FOLDER: learn the members from a folder of photos per person, and say how it went."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from whosthat.cli.options import add_cache_options, embedding_cache, fraction, positive, progress_bar
from whosthat.recognition.heads import HEADS
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION
from whosthat.training.config import DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD, DEFAULT_SUBJECT
from whosthat.training.finetune.recipes import RECIPES
from whosthat.training.subject import SUBJECTS
from whosthat.vision.detectors import DETECTORS
from whosthat.vision.embedders.spec import spec_argument, spec_names

#: Notes about the photos printed after training (all of them are in the model file).
SHOWN_NOTES = 12


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat train`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "train", help="learn the members from a folder with one sub-folder of photos per person",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat train photos/blackpink --out blackpink.wt\n"
               "  whosthat train photos/train --test-dir photos/test --head svm --out model.wt\n"
               "  whosthat train photos/blackpink --others photos/other-idols --out blackpink.wt\n"
               "  whosthat train anime/train --finetune mobilenetv2 --out anime.wt\n"
               "  whosthat train anime/train --finetune tutorial-cnn --out baseline.wt   # the notebook's CNN\n"
               "  whosthat train anime/train --finetune mobilenetv2 --out anime.wt --resume  # after a stop\n")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>: one sub-folder per person")
    p.add_argument("--out", "-o", type=Path, default=Path("model.wt"), help="model file to write (default: model.wt)")
    p.add_argument("--test-dir", type=Path, help="test photos of your own (same layout; copies of training photos "
                   "are left out); default: a split of FOLDER that keeps identical files in one part")
    p.add_argument("--others", type=Path, metavar="DIR",
                   help="DIR/<person>/<photo>: photos of people who are not members (other idols, say), learned as "
                        "one more class, 'the others', that no member's name is given for, and calibrated on as "
                        "strangers (the largest face of each photo)")
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
    p.add_argument("--epochs", type=positive,
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
    p.add_argument("--max-member-rejection", type=fraction, default=DEFAULT_MAX_MEMBER_REJECTION,
                   metavar="FRACTION",
                   help="share of members the stranger threshold may call unknown, among photos held out "
                        f"while calibrating (default: {DEFAULT_MAX_MEMBER_REJECTION}; higher: fewer strangers named)")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/validation/test split (default: 0)")
    p.add_argument("--val-fraction", type=fraction, default=0.15, help="share of each class for validation")
    p.add_argument("--test-fraction", type=fraction, default=0.2, help="share of each class for the test")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report beside the model")
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.training import TrainConfig, TrainingLog, train
    from whosthat.training.folder import HELD_OUT_FROM

    config = TrainConfig(subject=args.subject, detector=args.detector, embedder=args.embedder, head=args.head,
                         whiten=args.whiten, max_member_rejection=args.max_member_rejection, finetune=args.finetune,
                         epochs=args.epochs, resume=args.resume, workers=args.workers, test_dir=args.test_dir,
                         seed=args.seed, val_fraction=args.val_fraction, test_fraction=args.test_fraction,
                         flip=args.flip, cache_dir=args.cache_dir, use_cache=not args.no_cache, others=args.others)
    log = TrainingLog(echo=print)
    model = train(args.folder, config, out=args.out, progress=progress_bar, log=log)
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
    others = model.training.others if model.training is not None else None
    if others is not None:
        print(f"others: {len(others.people)} people, {_photos(others.photos)}, {others.faces} faces learned as "
              f"the others from {others.folder} ({others.photos - others.faces} not used: see the notes)")
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
    if calibration.negatives_accepted is not None:
        print(f"  and named {calibration.negatives_accepted:.1%} of the {calibration.curve.n_negatives} faces of the "
              "others (who are not members)")
    if calibration.index == 0:
        print("  no threshold keeps members first and strangers out on these photos: every face gets a name "
              "(more photos per person, or `predict --threshold`, change that)")
    if log.evaluation is not None:
        print("\ntest photos (never seen in training):")
        print(log.evaluation.format_text())
    print(f"\nmodel written to {args.out} (trained in {log.seconds['total']:.1f} s)")
    if not args.no_report:
        from whosthat.report import write_report

        print(f"report: {write_report(model, args.out.with_suffix('.html'), cache=embedding_cache(args))}")
    return 0


def _photos(n: int) -> str:
    return f"{n} photo" if n == 1 else f"{n} photos"
