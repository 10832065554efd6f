"""whosthat find INDEX: the photos of an index where members are named, unsure names, or faces like one."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from whosthat.cli.options import add_index_argument, count, probability
from whosthat.collection.defaults import DEFAULT_UNSURE_BELOW
from whosthat.core.labels import UNKNOWN_LABEL
from whosthat.core.paths import printable

if TYPE_CHECKING:
    from whosthat.collection.api import Index
    from whosthat.collection.find import Hit


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat find`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "find", help="photos of an index where members are named, unsure names, or faces like one in a photo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat find ~/Pictures                                 # what the index holds\n"
               "  whosthat find ~/Pictures --name jennie_kim --limit 10\n"
               "  whosthat find ~/Pictures --name jennie_kim --with lisa_manoban --html both.html\n"
               "  whosthat find ~/Pictures --unsure                        # names worth a look\n"
               "  whosthat find ~/Pictures --like stranger.jpg             # faces like the largest one there")
    add_index_argument(p)
    p.add_argument("--name", help="photos where this member is named (or 'unknown'), most confident first")
    p.add_argument("--with", dest="also", action="append", default=[], metavar="NAME",
                   help="with --name: only photos where this member is named too (repeatable)")
    p.add_argument("--unsure", action="store_true",
                   help="photos with a name given with low probability (of --name only, when given), least sure first")
    p.add_argument("--below", type=probability, default=DEFAULT_UNSURE_BELOW, metavar="P",
                   help=f"with --unsure: probability (0 to 1) under which a name is unsure "
                        f"(default: {DEFAULT_UNSURE_BELOW})")
    p.add_argument("--like", type=Path, metavar="PHOTO",
                   help="the faces of the collection most like the largest face in PHOTO, whoever they are")
    p.add_argument("--limit", type=count, default=20, metavar="N",
                   help="the most photos to list (default: 20; 0: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per photo per line")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write a contact sheet of the photos, faces boxed")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index
    from whosthat.core.errors import WhosthatError

    opened = Index(args.index)
    if args.also and not args.name:
        raise WhosthatError("--with goes with --name (photos where both are named)")
    if not (args.name or args.unsure or args.like):
        if args.html:
            raise WhosthatError("--html needs a question (--name, --unsure or --like)")
        return _print_summary(opened, args.json)
    names = [args.name, *args.also] if args.name else []
    hits = opened.find(names, unsure=args.unsure, below=args.below, like=args.like, limit=args.limit or None)
    for hit in hits:
        if args.json:
            print(json.dumps(hit.to_dict(), ensure_ascii=False))
        else:
            print(f"{hit.score:6.3f}  {printable(hit.name)}  ({_names(hit)})")
    if not hits and not args.json:
        print("nothing found", file=sys.stderr)
    if args.html:
        from whosthat.collection.sheet import write_hits_sheet

        question = (f"faces like the largest in {args.like}" if args.like else
                    f"unsure names (under {args.below:.0%})" if args.unsure else " + ".join(names))
        page = write_hits_sheet(hits, args.html, f"whosthat find: {question}", f"index {opened.directory}")
        print(f"contact sheet: {page}", file=sys.stderr)
    return 0


def _names(hit: Hit) -> str:
    """`jennie_kim 94%, unknown`: each face's name, with its probability where it is a member's."""
    return ", ".join(f.label if f.label == UNKNOWN_LABEL else f"{printable(f.label)} {f.confidence:.0%}"
                     for f in hit.faces)


def _print_summary(opened: Index, as_json: bool) -> int:
    summary = opened.summary()
    if as_json:
        print(json.dumps({**summary.to_dict(), "unreadable_photos": opened.unreadable()}, ensure_ascii=False))
        return 0
    print(f"index {summary.directory} of {summary.collection}")
    print(f"{summary.photos} photos, {summary.faces} faces ({summary.no_face} photos without a face, "
          f"{summary.unreadable} unreadable)")
    print(f"named by {summary.labeller.source} ({len(summary.labeller.classes)} members) "
          f"on {summary.labeller.labelled}")
    print("faces per name: " + (", ".join(f"{printable(n)} {c}" for n, c in summary.names.items()) or "none"))
    return 0
