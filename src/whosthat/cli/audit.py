"""whosthat audit FOLDER: what is wrong with a training folder, and a reversible move of the suspects."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from whosthat.audit.defaults import AUDIT_DETECTOR, AUDIT_EMBEDDER
from whosthat.cli.options import add_cache_options, embedding_cache, progress_bar
from whosthat.vision.detectors import DETECTORS
from whosthat.vision.embedders import EMBEDDERS


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat audit`: its options (nothing heavy is imported to build them)."""
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
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.audit import audit, audit_extractor, move_suspects, undo_moves, write_contact_sheet
    from whosthat.core.errors import WhosthatError

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
    result = audit(args.folder, test_dir=args.test_dir, extractor=extractor, cache=embedding_cache(args),
                   progress=progress_bar)
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
