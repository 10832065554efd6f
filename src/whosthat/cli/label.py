"""whosthat label INDEX PHOTO[:FACE] NAME: correct the name of a face in an index, kept in the index as data; with
`--box X,Y,W,H`, name a face the detector missed (added to the index as one more face of the photo)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from whosthat.cli.options import add_index_argument
from whosthat.core.paths import printable

if TYPE_CHECKING:
    from whosthat.collection.api import Index
    from whosthat.collection.corrections import Correction


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat label`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "label", help="correct the name of a face in an index (kept in the index, for a model to learn from)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat label ~/Pictures party/IMG_0042.jpg:1 jennie_kim   # face 1 is jennie_kim\n"
               "  whosthat label ~/Pictures party/IMG_0042.jpg --not lisa_manoban  # face 0 is not lisa_manoban\n"
               "  whosthat label ~/Pictures party/IMG_0042.jpg:2 --stranger        # nobody of the group\n"
               "  whosthat label ~/Pictures party/IMG_0042.jpg rose_park --box 812,140,36,44  # a face missed\n"
               "  whosthat label ~/Pictures --undo                                 # take the last one back\n"
               "  whosthat label ~/Pictures --list\n\n"
               "PHOTO is the photo's path in the collection (as `whosthat find` prints it) or its content hash; "
               "FACE its face number (0, the largest, when left out). Corrections are kept by the photo's "
               "content, so they outlive moves, renames and new runs of `whosthat index`; the photos are never "
               "changed. `find` and its summary name each corrected face as the correction says.")
    add_index_argument(p)
    p.add_argument("photo", nargs="?", metavar="PHOTO[:FACE]", help="the face to correct")
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="who the face is: a member, or a new person (recorded as not the name it had)")
    p.add_argument("--box", metavar="X,Y,W,H",
                   help="with NAME: the face in this box (pixels of the upright photo, from its top left) is NAME; "
                        "for a face the index does not hold (the detector missed it), added as one more face")
    p.add_argument("--not", dest="not_name", metavar="NAME", help="the face is not NAME")
    p.add_argument("--stranger", action="store_true",
                   help="the face is nobody of the group (and need not be asked about again)")
    p.add_argument("--undo", action="store_true", help="take back the last correction")
    p.add_argument("--list", action="store_true", help="list the corrections, oldest first")
    p.add_argument("--json", action="store_true", help="with --list: one JSON object per correction per line")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run writing the index (default: refuse at once)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index
    from whosthat.core.errors import WhosthatError

    said = [n for n, given in (("NAME", args.name is not None), ("--not", args.not_name is not None),
                               ("--stranger", args.stranger), ("--undo", args.undo), ("--list", args.list)) if given]
    if len(said) != 1:
        raise WhosthatError("say one thing: NAME, --not NAME, --stranger, --undo or --list"
                            + (f" (not {' and '.join(said)})" if said else ""))
    if args.box is not None and args.name is None:
        raise WhosthatError("--box goes with NAME: the name of the face in the box")
    if args.json and not args.list:
        raise WhosthatError("--json goes with --list")
    if (args.photo is None) != (args.undo or args.list):
        raise WhosthatError("--undo and --list take no PHOTO" if args.photo else "say which face: PHOTO[:FACE]")
    opened = Index(args.index)
    if args.list:
        _print_list(opened, opened.corrections(), args.json)
    elif args.undo:
        _print_action(opened, opened.undo(wait=args.wait), "took back")
    elif args.box is not None:
        added = opened.add_face(args.photo, _box(args.box), args.name, wait=args.wait)
        how = "found in the box" if added.detected else "the box as drawn"
        print(f"added: face {added.face} of {printable(added.path)} ({how}), "
              f"{printable(added.correction.said())}")
    else:
        photo, face = _face(args.photo)
        if args.stranger:
            done = opened.stranger(photo, face, wait=args.wait)
        elif args.not_name is not None:
            done = opened.reject(photo, face, args.not_name, wait=args.wait)
        else:
            done = opened.move(photo, face, args.name, wait=args.wait)
        _print_action(opened, done, "recorded")
    return 0


def _face(text: str) -> tuple[str, int]:
    """PHOTO[:FACE] as (photo, face number): a last part of digits after a colon is the face (0 without)."""
    photo, colon, face = text.rpartition(":")
    return (photo, int(face)) if colon and face.isascii() and face.isdigit() else (text, 0)


def _box(text: str) -> tuple[float, ...]:
    """X,Y,W,H as four numbers; anything else is one clear error."""
    from whosthat.core.errors import WhosthatError

    try:
        box = tuple(float(v) for v in text.split(","))
    except ValueError:
        box = ()
    if len(box) != 4:
        raise WhosthatError(f"--box {text!r}: give X,Y,W,H, four numbers in pixels (as 812,140,36,44)")
    return box


def _print_action(opened: Index, rows: Sequence[Correction], done: str) -> None:
    paths = opened.photo_paths({r.content_hash for r in rows})
    for row in rows:
        photo = paths.get(row.content_hash, row.content_hash)
        print(f"{done}: {printable(row.said())} of face {row.face} of {printable(photo)}")


def _print_list(opened: Index, rows: Sequence[Correction], as_json: bool) -> None:
    paths = opened.photo_paths({r.content_hash for r in rows})
    for row in rows:
        path = paths.get(row.content_hash)
        if as_json:
            print(json.dumps({**row.to_dict(), "path": path}, ensure_ascii=False))
        else:
            print(f"{row.id:4d}  {row.time}  {printable(path or row.content_hash)}:{row.face}  {printable(row.said())}")
