"""whosthat report MODEL: the HTML report of a model."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat report`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "report", help="write the HTML report of a model: data, scores, mistakes, stranger threshold, embeddings",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat report blackpink.wt\n  whosthat report blackpink.wt --out report.html\n")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("--out", "-o", type=Path, help="HTML file to write (default: MODEL with .html)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.models.loading import load
    from whosthat.report import write_report

    model = load(args.model)
    print(f"report: {write_report(model, args.out or args.model.with_suffix('.html'))}")
    return 0
