"""whosthat evaluate MODEL FOLDER: how good a model is on labelled photos it never saw."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from whosthat.cli.options import add_cache_options, add_threshold_option, embedding_cache, progress_bar


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat evaluate`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "evaluate", help="score a model on labelled photos it never saw",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat evaluate blackpink.wt photos/test\n"
               "  whosthat evaluate blackpink.wt photos/test --threshold 0  # another point (0: even odds)\n\n"
               "Sub-folders named after people the model does not know are scored as strangers. Photos that are\n"
               "copies of the ones the model learned from (the same files) are left out and listed.\n\n"
               "After the figures, a table of the stranger threshold's trade-off on these photos: members named\n"
               "right, members rejected (called unknown) and strangers named, at the calibrated threshold, at\n"
               "--threshold if given, and at thresholds where at most 1, 2, 3, 5 and 10 % of the members are\n"
               "rejected. A row's threshold, as printed, is what `predict --threshold` takes.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("folder", type=Path, help="FOLDER/<person>/<photo>")
    p.add_argument("--json", action="store_true",
                   help="print the figures as one JSON object (the trade-off's rows under \"tradeoff\")")
    add_threshold_option(p)
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.models.loading import load
    from whosthat.training.evaluate import evaluate_folder

    model = load(args.model)
    evaluation = evaluate_folder(model, args.folder, cache=embedding_cache(args), threshold=args.threshold,
                                 progress=progress_bar)
    if args.json:
        print(json.dumps(evaluation.to_dict(), ensure_ascii=False))
    else:
        print(evaluation.format_text())
    return 0
