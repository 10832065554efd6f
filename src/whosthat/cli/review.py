"""whosthat review INDEX: the review page for a collection's index, in the browser, served on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from whosthat.cli.options import add_index_argument


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat review`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "review", help="fix the names of an index in the browser: confirm, correct, name new people, learn",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat review ~/Pictures\n  whosthat review ~/Pictures --port 8001 --no-browser\n\n"
               "Serves the review page for the index with the index's own model, on this machine only, prints its\n"
               "address and opens it in the browser. Every action is kept as a correction in the index (as\n"
               "`whosthat label` makes them); Learn fits the model again from them (as `whosthat learn` does),\n"
               "writes it into INDEX's learned/ folder (or --learned DIR) and names the index with it.\n"
               "Ctrl-C stops the service.")
    add_index_argument(p)
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    p.add_argument("--learned", type=Path, metavar="DIR",
                   help="folder for the models Learn writes (default: the index's learned/ folder)")
    p.add_argument("--no-browser", action="store_true", help="print the address only; do not open a browser")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.collection.api import Index
    from whosthat.serve import serve

    opened = Index(args.index)
    serve(opened.store.model_path(), port=args.port, index=opened.directory, learned=args.learned,
          page="/review", open_browser=not args.no_browser)
    return 0
