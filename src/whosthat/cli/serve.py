"""whosthat serve MODEL: the web page and REST API on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path

from whosthat.cli.options import positive
from whosthat.vision.images import MAX_PIXELS


def add_parser(commands: argparse._SubParsersAction) -> None:
    """`whosthat serve`: its options (nothing heavy is imported to build them)."""
    p = commands.add_parser(
        "serve", help="a web page and REST API that name the faces in uploaded photos, on this machine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  whosthat serve blackpink.wt            # then open http://127.0.0.1:8000/\n"
               "  curl -F file=@concert.jpg http://127.0.0.1:8000/v1/predict\n\n"
               "API documentation at /docs. Ctrl-C stops the service.")
    p.add_argument("model", type=Path, help="model file written by `whosthat train`")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0: any free port)")
    p.add_argument("--max-bytes", type=positive, default=20 * 1024 * 1024, metavar="N",
                   help="largest upload in bytes (default: 20 MiB)")
    p.add_argument("--max-pixels", type=positive, default=MAX_PIXELS, metavar="N",
                   help=f"largest image in pixels (default: {MAX_PIXELS:,})")
    p.add_argument("--worker-threads", type=positive, default=2, metavar="N",
                   help="photos recognised at once; more requests wait (default: 2)")
    p.add_argument("--index", type=Path, metavar="DIR",
                   help="a collection index (`whosthat index`) to search from the page and GET /v1/index/find")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from whosthat.serve import Limits, serve

    serve(args.model, host=args.host, port=args.port,
          limits=Limits(max_bytes=args.max_bytes, max_pixels=args.max_pixels, recognitions=args.worker_threads),
          index=args.index)
    return 0
