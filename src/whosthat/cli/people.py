"""whosthat people INDEX: the faces named as nobody of the group, grouped into candidate new people."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from whosthat.cli.options import add_index_argument, positive, print_notes
from whosthat.collection.defaults import DEFAULT_MIN_FACES, LINK_RATE
from whosthat.core.paths import printable
from whosthat.core.text import listed


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat people`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "people", help="group the faces of an index named as nobody of the group into candidate new people",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat people ~/Pictures                     # groups, and a contact sheet per group\n"
               "  whosthat people ~/Pictures --export photos/blackpink   # person_001/... beside the members\n"
               "  # rename photos/blackpink/person_001 to the person's name, then:\n"
               "  whosthat train photos/blackpink --out blackpink-v2.wt\n"
               "  whosthat index blackpink-v2.wt ~/Pictures --relabel\n\n"
               "Groups are kept in the index: a later run adds new faces to them or starts new ones.")
    add_index_argument(p)
    p.add_argument("--distance", type=float, metavar="D",
                   help="cosine distance, in the space the index's model compares faces in, within which two faces "
                        "may be linked (default: the distance within which "
                        f"{LINK_RATE:.0%}% of the pairs of the model's training faces of two different members fall)")
    p.add_argument("--min-faces", type=positive, default=DEFAULT_MIN_FACES, metavar="N",
                   help=f"faces a new candidate person needs (default: {DEFAULT_MIN_FACES})")
    p.add_argument("--restart", action="store_true", help="forget the groups made before and group afresh")
    p.add_argument("--html", type=Path, metavar="DIR",
                   help="where to write the contact sheets (default: people/ inside the index folder)")
    p.add_argument("--export", type=Path, metavar="DIR",
                   help="write each group as DIR/person_NNN/ of face crops, to rename and train on; a face "
                        "exported before is not exported again, even after its folder was renamed")
    p.add_argument("--json", action="store_true", help="print the groups as one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index
    from whosthat.collection.sheet import write_people_sheets

    opened = Index(args.index)
    report = opened.people(distance=args.distance, min_faces=args.min_faces, restart=args.restart)
    if args.json:
        print(json.dumps({"distance": round(report.distance, 4), "min_faces": report.min_faces,
                          "unknown_faces": report.unknown_faces, "waiting": report.waiting,
                          "people": [{"person": p.label, "faces": [{"path": str(f.path), "face": f.face,
                                                                    "box": [round(v, 1) for v in f.box]}
                                                                   for f in p.faces]} for p in report.people]},
                         ensure_ascii=False))
    else:
        print(f"{report.unknown_faces} faces named as nobody of the group: {len(report.people)} candidate people "
              f"({report.grouped_now} faces grouped now, {report.waiting} waiting for more like them; distance "
              f"{report.distance:.3f}, at least {report.min_faces} faces)")
        for person in report.people:
            photos = sorted({f.name for f in person.faces})
            print(f"  {person.label}: {len(person.faces)} faces in {len(photos)} photo{'s' if len(photos) > 1 else ''} "
                  f"({listed([printable(p) for p in photos])})")
    page = write_people_sheets(report, args.html or opened.directory / "people", opened.directory)
    print(f"contact sheets: {page}", file=sys.stderr)
    if args.export:
        exported = opened.export_people(report, args.export)
        print(f"exported {exported.written} new face crops of {len(exported.folders)} people to "
              f"{printable(str(exported.into))} ({exported.existing} exported before): rename each folder to the "
              "person's name and train with it", file=sys.stderr)
        if exported.missing:
            print(f"photos that could not be read: {listed([printable(m) for m in exported.missing])}",
                  file=sys.stderr)
        print_notes(exported.notes)
    return 0
