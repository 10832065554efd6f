"""whosthat report MODEL: the HTML report of a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from whosthat.cli.options import add_cache_options, embedding_cache


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat report`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "report", help="write the HTML report of a model: data, scores, mistakes, stranger threshold, embeddings",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat report blackpink.wt\n  whosthat report blackpink.wt --out report.html\n\n"
               "Where the test photos hold strangers, they are read again (through the cache) and named at other\n"
               "thresholds: the report's stranger threshold section gives the trade-off on them.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("--out", "-o", type=Path, help="HTML file to write (default: MODEL with .html)")
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.models.loading import load
    from whosthat.report import write_report

    model = load(args.model)
    out = write_report(model, args.out or args.model.with_suffix(".html"), cache=embedding_cache(args))
    print(f"report: {out}")
    return 0
