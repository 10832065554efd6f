"""The collection sub-commands of `whosthat`: `index`, `find`, `sort` and `people` (`add_collection_commands`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from whosthat.core.paths import printable
from whosthat.core.text import listed
from whosthat.recognition.prediction import UNKNOWN_LABEL

if TYPE_CHECKING:
    from whosthat.collection.api import Index
    from whosthat.collection.find import Hit

#: Unreadable photos listed at the end of a run, and notes at the end of a sort (the rest are counted).
SHOWN_ERRORS = 12


def add_collection_commands(commands: argparse._SubParsersAction) -> None:
    """Add `index`, `find`, `sort` and `people` to the `whosthat` sub-command parsers."""
    from whosthat.collection.defaults import DEFAULT_BATCH, DEFAULT_MIN_FACES, DEFAULT_UNSURE_BELOW
    from whosthat.collection.job import ENGINES

    p = commands.add_parser(
        "index", help="name every face of every photo of a collection, into an index that later runs update",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat index blackpink.wt ~/Pictures\n"
               "  whosthat index blackpink.wt ~/Pictures --index ~/pictures.index --engine ray\n"
               "  whosthat index blackpink-v2.wt --index ~/pictures.index --relabel   # a retrained model\n\n"
               "A second run reads only new and changed photos and drops deleted ones; a run that was stopped\n"
               "continues where it was. Exit status: 0, or 1 when some photos could not be read (listed).")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("collection", type=Path, nargs="?",
                   help="folder of photos, searched recursively (may be left out to update an existing --index)")
    p.add_argument("--index", type=Path, metavar="DIR", help="index folder (default: COLLECTION/.whosthat-index)")
    p.add_argument("--relabel", action="store_true",
                   help="the index was labelled by another model: name its stored faces with this one, from their "
                        "vectors (same detector and embedder), then index what is new")
    p.add_argument("--engine", default="local", choices=ENGINES.names(),
                   help="local (this process; default) or ray (a Ray Data job: pip install 'whosthat[ray]')")
    p.add_argument("--address",
                   help="with --engine ray: the Ray cluster to join (default: a local Ray on this machine)")
    p.add_argument("--concurrency", type=_positive, metavar="N",
                   help="with --engine ray: actors, each holding the model (default: one per CPU, or per GPU)")
    p.add_argument("--gpus", type=float, metavar="N",
                   help="with --engine ray: GPUs per actor (default: 1 where the cluster has GPUs, else 0)")
    p.add_argument("--batch", type=_positive, default=DEFAULT_BATCH, metavar="N",
                   help=f"photos per commit: what a stopped run can lose (default: {DEFAULT_BATCH})")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run writing the same index (default: refuse at once)")
    p.add_argument("--json", action="store_true", help="print what the run did as one JSON object")
    _cache_options(p)
    p.set_defaults(run=_index)

    p = commands.add_parser(
        "find", help="photos of an index where members are named, unsure names, or faces like one in a photo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat find ~/Pictures                                 # what the index holds\n"
               "  whosthat find ~/Pictures --name jennie_kim --limit 10\n"
               "  whosthat find ~/Pictures --name jennie_kim --with lisa_manoban --html both.html\n"
               "  whosthat find ~/Pictures --unsure                        # names worth a look\n"
               "  whosthat find ~/Pictures --like stranger.jpg             # faces like the largest one there")
    _index_argument(p)
    p.add_argument("--name", help="photos where this member is named (or 'unknown'), most confident first")
    p.add_argument("--with", dest="also", action="append", default=[], metavar="NAME",
                   help="with --name: only photos where this member is named too (repeatable)")
    p.add_argument("--unsure", action="store_true",
                   help="photos with a name given with low probability (of --name only, when given), least sure first")
    p.add_argument("--below", type=_probability, default=DEFAULT_UNSURE_BELOW, metavar="P",
                   help=f"with --unsure: probability (0 to 1) under which a name is unsure "
                        f"(default: {DEFAULT_UNSURE_BELOW})")
    p.add_argument("--like", type=Path, metavar="PHOTO",
                   help="the faces of the collection most like the largest face in PHOTO, whoever they are")
    p.add_argument("--limit", type=_count, default=20, metavar="N",
                   help="the most photos to list (default: 20; 0: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per photo per line")
    p.add_argument("--html", type=Path, metavar="FILE", help="also write a contact sheet of the photos, faces boxed")
    p.set_defaults(run=_find)

    p = commands.add_parser(
        "sort", help="a folder per member (and unknown/) of links to, or copies of, an index's photos",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat sort ~/Pictures --into ~/sorted\n  whosthat sort ~/Pictures --into ~/sorted "
               "--copy\n\nA photo with several members goes in each of their folders; one where faces were found but\n"
               "no member named goes in unknown/. Your photos are never moved or deleted. Sorting again updates\n"
               "the folder: links and copies it made and recorded that are no longer wanted are removed, nothing\n"
               "else; a copy whose photo is gone is kept. A folder holds the sort of one collection.")
    _index_argument(p)
    p.add_argument("--into", type=Path, required=True, metavar="DIR",
                   help="folder to sort into (outside the collection)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--link", dest="mode", action="store_const", const="link", help="symbolic links (default)")
    how.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copies of the photos")
    p.set_defaults(run=_sort, mode="link")

    p = commands.add_parser(
        "people", help="group the faces of an index named as nobody of the group into candidate new people",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat people ~/Pictures                     # groups, and a contact sheet per group\n"
               "  whosthat people ~/Pictures --export photos/blackpink   # person_001/... beside the members\n"
               "  # rename photos/blackpink/person_001 to the person's name, then:\n"
               "  whosthat train photos/blackpink --out blackpink-v2.wt\n"
               "  whosthat index blackpink-v2.wt ~/Pictures --relabel\n\n"
               "Groups are kept in the index: a later run adds new faces to them or starts new ones.")
    _index_argument(p)
    p.add_argument("--distance", type=float, metavar="D",
                   help="cosine distance within which two faces are neighbours (default: the distance that at most "
                        "0.5 %% of pairs of faces named as two different members fall within, in this index)")
    p.add_argument("--min-faces", type=_positive, default=DEFAULT_MIN_FACES, metavar="N",
                   help=f"neighbours (the face included) that make a face the core of a person "
                        f"(default: {DEFAULT_MIN_FACES})")
    p.add_argument("--restart", action="store_true", help="forget the groups made before and group afresh")
    p.add_argument("--html", type=Path, metavar="DIR",
                   help="where to write the contact sheets (default: people/ inside the index folder)")
    p.add_argument("--export", type=Path, metavar="DIR",
                   help="write each group as DIR/person_NNN/ of face crops, to rename and train on; a face "
                        "exported before is not exported again, even after its folder was renamed")
    p.add_argument("--json", action="store_true", help="print the groups as one JSON object")
    p.set_defaults(run=_people)


def _index_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("index", type=Path,
                        help="index folder, or the collection folder holding the default .whosthat-index")


def _cache_options(parser: argparse.ArgumentParser) -> None:
    from whosthat.vision.cache import default_cache_dir

    parser.add_argument("--cache-dir", type=Path,
                        help=f"the embedding cache shared with training (default: {default_cache_dir()})")
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative (0 means all)")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a number") from None
    if not 0.0 <= value <= 1.0:  # nan too
        raise argparse.ArgumentTypeError(f"{text} is not a probability (a number from 0 to 1)")
    return value


def _progress(total: int) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc="indexing", unit="photo", file=sys.stderr, disable=None, leave=False,
               smoothing=0.05)

    def advance(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return advance


def _index(args: argparse.Namespace) -> int:
    from whosthat.collection.api import index
    from whosthat.collection.job import ENGINES
    from whosthat.core.errors import WhosthatError

    options = {"address": args.address, "concurrency": args.concurrency, "num_gpus": args.gpus}
    if args.engine != "ray" and any(v is not None for v in options.values()):
        raise WhosthatError("--address, --concurrency and --gpus go with --engine ray")
    engine = ENGINES.create(args.engine, **options) if args.engine == "ray" else ENGINES.create(args.engine)
    opened = index(args.model, args.collection, index=args.index, relabel=args.relabel, engine=engine,
                   cache_dir=args.cache_dir, use_cache=not args.no_cache, batch=args.batch, wait=args.wait,
                   progress=None if args.json else _progress)
    run = opened.last_run
    assert run is not None
    if args.json:
        print(json.dumps({"index": str(run.directory), "collection": str(run.collection), "engine": run.engine,
                          "photos": run.photos, "faces": run.faces, "added": run.added, "changed": run.changed,
                          "removed": run.removed, "unchanged": run.unchanged, "relabelled": run.relabelled,
                          "unreadable": list(run.unreadable),
                          "unreadable_folders": list(run.unreadable_folders), "vanished": list(run.vanished),
                          "seconds": round(run.seconds, 3)}, ensure_ascii=False))
        return 1 if run.unreadable else 0
    done = run.added + run.changed
    rate = f", {run.photos_per_second:.2f} photos/s" if done else ""
    print(f"index: {run.directory} (collection {run.collection})")
    if run.relabelled:
        print(f"relabelled {run.relabelled} photos with {args.model} in {run.timings.get('relabel', 0):.1f} s")
    print(f"{run.photos} photos, {run.faces} faces: {run.added} new, {run.changed} changed, {run.removed} removed, "
          f"{run.unchanged} unchanged ({run.seconds:.1f} s{rate}, {run.engine} engine)")
    if run.vanished:
        print(f"deleted while the run went on (not indexed): {listed([printable(v) for v in run.vanished])}")
    if run.unreadable:
        print(f"could not be read ({len(run.unreadable)}; they stay listed in the index):")
        for line in run.unreadable[:SHOWN_ERRORS]:
            print(f"  {printable(line)}")
        if len(run.unreadable) > SHOWN_ERRORS:
            print(f"  ... and {len(run.unreadable) - SHOWN_ERRORS} more (`whosthat find INDEX --json` lists them)")
    elif run.unreadable_in_index:
        print(f"{run.unreadable_in_index} photos of the index could not be read (unchanged since)")
    summary = opened.summary()
    print("faces per name: " + ", ".join(f"{printable(name)} {n}" for name, n in summary.names.items()))
    return 1 if run.unreadable else 0


def _find(args: argparse.Namespace) -> int:
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


def _sort(args: argparse.Namespace) -> int:
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
    _print_notes(report.notes)
    return 0


def _print_notes(notes: Sequence[str]) -> None:
    for note in notes[:SHOWN_ERRORS]:
        print(f"note: {printable(note)}", file=sys.stderr)
    if len(notes) > SHOWN_ERRORS:
        print(f"note: ... and {len(notes) - SHOWN_ERRORS} more", file=sys.stderr)


def _people(args: argparse.Namespace) -> int:
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
        _print_notes(exported.notes)
    return 0

