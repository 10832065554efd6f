"""`serve`: run the service for a model file on uvicorn until Ctrl-C."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import uvicorn

from whosthat.errors import WhosthatError
from whosthat.loading import load
from whosthat.serve.app import create_app
from whosthat.serve.limits import Limits


def serve(model_path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000,
          limits: Limits | None = None, log_level: str = "info", index: str | os.PathLike | None = None) -> None:
    """Load the model once and serve it at http://host:port/ (Ctrl-C stops, finishing requests under way);
    with `index`, a collection index's /v1/index routes and search box too.

    Raises `ModelFileError` for a missing or broken model file and `WhosthatError` when the address
    cannot be listened on, before anything is served.
    """
    model = load(model_path)
    app = create_app(model, limits, index=None if index is None else Path(index))  # a bad index: an error first
    listener = _listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"whosthat: serving {model_path} ({len(model.classes)} members) at "
          f"http://{shown}:{listener.getsockname()[1]}/ (API docs at /docs; Ctrl-C stops)", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5)
    try:
        uvicorn.Server(config).run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn raises the Ctrl-C again once it has shut down cleanly
        pass
    print("whosthat: stopped", file=sys.stderr, flush=True)


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to the address (port 0: any free port), or one clear error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
    except (OSError, OverflowError) as error:  # OverflowError: a port outside 0-65535
        raise WhosthatError(f"cannot listen on {host}:{port} ({getattr(error, 'strerror', None) or error})") from None
    return listener
