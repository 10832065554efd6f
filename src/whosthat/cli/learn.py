"""whosthat learn INDEX --out NEW.wt: the index's model fitted again from its corrections, and the index named by it."""

from __future__ import annotations

import argparse
from pathlib import Path

from whosthat.cli.options import add_index_argument
from whosthat.core.paths import printable


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat learn`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "learn", help="fit the index's model again from the corrections made with `whosthat label`",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat learn ~/Pictures --out blackpink-v2.wt\n\n"
               "A face confirmed as a name is learned as that member (a new name makes a new member, with no\n"
               "photo folder); a face said to be a stranger, or not the name the index gives it, is learned as\n"
               "nobody of the group. The model's training faces are kept, its threshold is calibrated again, and\n"
               "the index's faces are named by the new model from their vectors (no photo is read again).\n"
               "Every run learns from all the corrections, so one taken back with `label --undo` is forgotten.")
    add_index_argument(p)
    p.add_argument("--out", "-o", type=Path, required=True, help="model file to write (the index then uses it)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run writing the index (default: refuse at once)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index

    opened = Index(args.index)
    report = opened.learn(args.out, wait=args.wait)
    learned = ", ".join(f"{printable(name)} {n}" for name, n in report.confirmed.items()) or "none"
    print(f"learned from the corrections of {report.run.directory} in {report.seconds:.1f} s: faces confirmed "
          f"({learned}), {report.nobody} of nobody of the group")
    if report.new_members:
        print("new members: " + ", ".join(printable(name) for name in report.new_members))
    print(f"model written to {printable(str(report.model_file))}; {report.run.relabelled} photos named by it")
    summary = opened.summary()
    print("faces per name: " + ", ".join(f"{printable(name)} {n}" for name, n in summary.names.items()))
    return 0
