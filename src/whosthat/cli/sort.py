"""whosthat sort INDEX --into DIR: a folder per member of links to, or copies of, the photos."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from whosthat.cli.options import add_index_argument, print_notes
from whosthat.core.paths import printable
from whosthat.core.text import listed


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat sort`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "sort", help="a folder per member (and unknown/) of links to, or copies of, an index's photos",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat sort ~/Pictures --into ~/sorted\n  whosthat sort ~/Pictures --into ~/sorted "
               "--copy\n\nA photo with several members goes in each of their folders; one where faces were found but\n"
               "no member named goes in unknown/. Your photos are never moved or deleted. Sorting again updates\n"
               "the folder: links and copies it made and recorded that are no longer wanted are removed, nothing\n"
               "else; a copy whose photo is gone is kept. A folder holds the sort of one collection.")
    add_index_argument(p)
    p.add_argument("--into", type=Path, required=True, metavar="DIR",
                   help="folder to sort into (outside the collection)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--link", dest="mode", action="store_const", const="link", help="symbolic links (default)")
    how.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copies of the photos")
    p.set_defaults(run=run, mode="link")


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index

    report = Index(args.index).sort(args.into, args.mode)
    verb = "linked" if report.mode == "link" else "copied"
    print(f"sorted into {printable(str(report.into))}: "
          + ", ".join(f"{printable(name)}/ {n}" for name, n in report.folders.items()))
    print(f"{report.made} {verb}, {report.kept} already there, {report.removed} no longer wanted removed; "
          f"{report.no_face} photos without a face and {report.unreadable} unreadable left out")
    if report.left_alone:
        print(f"left alone (a file that sort did not make is there): "
              f"{listed([printable(t) for t in report.left_alone])}", file=sys.stderr)
    if report.originals_gone:
        print(f"kept, because their photo is gone (they may be the last copies): "
              f"{listed([printable(t) for t in report.originals_gone])}", file=sys.stderr)
    print_notes(report.notes)
    return 0
