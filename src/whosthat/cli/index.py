"""whosthat index MODEL COLLECTION: every face of every photo of a collection named, into an index."""

from __future__ import annotations

import argparse
import json
from functools import partial
from pathlib import Path

from whosthat.cli.options import SHOWN_ERRORS, add_cache_options, positive, progress_bar
from whosthat.collection.defaults import DEFAULT_BATCH
from whosthat.collection.job import ENGINES
from whosthat.core.paths import printable
from whosthat.core.text import listed


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat index`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "index", help="name every face of every photo of a collection, into an index that later runs update",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat index blackpink.wt ~/Pictures\n"
               "  whosthat index blackpink.wt ~/Pictures --index ~/pictures.index --engine ray\n"
               "  whosthat index blackpink-v2.wt --index ~/pictures.index --relabel   # a retrained model\n\n"
               "A second run reads only new and changed photos and drops deleted ones; a run that was stopped\n"
               "continues where it was. After a run that changed anything, every name is checked against the\n"
               "whole collection: a face whose look-alikes in it lead to nobody, or to another member, is\n"
               "called unknown (--no-check: each face named on its own).\n"
               "Exit status: 0, or 1 when some photos could not be read (listed).")
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
                   help="with --engine ray: the Ray cluster to join, HOST:PORT of its head (default: a Ray of its own "
                        "on this machine, stopped after)")
    p.add_argument("--concurrency", type=positive, metavar="N",
                   help="with --engine ray: actors, each holding the model (default: one per CPU, or per GPU; never "
                        "more than the photos fill)")
    p.add_argument("--gpus", type=float, metavar="N",
                   help="with --engine ray: GPUs per actor (default: 1 where the cluster has GPUs, else 0)")
    p.add_argument("--batch", type=positive, default=DEFAULT_BATCH, metavar="N",
                   help=f"photos per commit: what a stopped run can lose (default: {DEFAULT_BATCH})")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait this long for another run writing the same index (default: refuse at once)")
    p.add_argument("--no-check", dest="check", action="store_false",
                   help="keep each face's name as the model gives it on its own, without checking it against the "
                        "rest of the collection")
    p.add_argument("--json", action="store_true", help="print what the run did as one JSON object")
    add_cache_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import index
    from whosthat.collection.job import ENGINES
    from whosthat.core.errors import WhosthatError

    options = {"address": args.address, "concurrency": args.concurrency, "num_gpus": args.gpus}
    if args.engine != "ray" and any(v is not None for v in options.values()):
        raise WhosthatError("--address, --concurrency and --gpus go with --engine ray")
    engine = ENGINES.create(args.engine, **options) if args.engine == "ray" else ENGINES.create(args.engine)
    opened = index(args.model, args.collection, index=args.index, relabel=args.relabel, engine=engine,
                   cache_dir=args.cache_dir, use_cache=not args.no_cache, batch=args.batch, wait=args.wait,
                   progress=None if args.json else partial(progress_bar, "indexing"), check=args.check)
    run = opened.last_run
    assert run is not None
    if args.json:
        print(json.dumps({"index": str(run.directory), "collection": str(run.collection), "engine": run.engine,
                          "photos": run.photos, "faces": run.faces, "added": run.added, "changed": run.changed,
                          "removed": run.removed, "unchanged": run.unchanged, "relabelled": run.relabelled,
                          "doubted": run.doubted, "unchecked": run.unchecked, "unreadable": list(run.unreadable),
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
    if run.doubted:
        print(f"{run.doubted} faces named on their own but not by the faces around them in the collection: "
              "called unknown (--no-check keeps them)")
    if run.unchecked:
        print(f"{run.unchecked} faces: more than the collection check takes; names kept face by face")
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
