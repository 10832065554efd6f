"""`serve`: run the service for a model file on uvicorn until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any, Optional

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from whosthat.core.errors import WhosthatError
from whosthat.models.loading import load
from whosthat.serve.app import create_app
from whosthat.serve.limits import Limits

#: Seconds an idle connection is kept open between requests.
KEEP_ALIVE = 5
#: Connections open at once (idle, slow and busy ones together); a request beyond them is answered 503.
MAX_CONNECTIONS = 100
#: The most bytes of a request's line and headers.
MAX_HEADER_BYTES = 16 * 1024


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the time limits it lacks, so that slow or unfinished requests cannot hold
    connections (and with them `MAX_CONNECTIONS`) for ever.

    header_timeout: a request's line and headers must arrive in full within this many seconds of the connection
    being ready for them (opened, or its last response sent), however slowly they trickle in.
    body_stall: a request's body may not stop arriving for longer than this (while the service reads it).
    The connection is closed when either passes.
    """

    header_timeout = 10.0
    body_stall = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: Optional[asyncio.TimerHandle] = None
        self._waiting_for: Optional[str] = None  # "headers", "body" or nothing

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._arm(None, 0.0)
        super().connection_lost(exc)

    def _watch(self) -> None:
        """Set the deadline for what the client owes now: headers (from the first moment they are awaited, not
        moved by each byte), more of the body (from the last chunk), or nothing."""
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._waiting_for != "headers":
                self._arm("headers", self.header_timeout)
        elif state is h11.SEND_BODY:
            self._arm("body", self.body_stall)
        else:
            self._arm(None, 0.0)

    def _arm(self, waiting_for: Optional[str], seconds: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._waiting_for = waiting_for
        if waiting_for is not None:
            self._deadline = self.loop.call_later(seconds, self._expired)

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._waiting_for == "body" and self.flow.read_paused:  # the service is slow to read, not the client
            self._arm("body", self.body_stall)
            return
        self._waiting_for = None
        self.transport.close()


def serve(model_path: str | os.PathLike, *, host: str = "127.0.0.1", port: int = 8000,
          limits: Limits | None = None, log_level: str = "info", index: str | os.PathLike | None = None,
          learned: str | os.PathLike | None = None, page: str = "/", open_browser: bool = False) -> None:
    """Load the model once and serve it at http://host:port/ (Ctrl-C stops, finishing requests under way);
    with `index`, a collection index's /v1/index routes, search box and review page too (models learned there
    go into `learned`). Slow and idle clients are closed in bounded time (`BoundedH11Protocol`, `KEEP_ALIVE`),
    at most MAX_CONNECTIONS at once. The address printed, and opened in the browser with `open_browser` once
    the service answers, is that of `page`.

    Raises `ModelFileError` for a missing or broken model file and `WhosthatError` when the address
    cannot be listened on, before anything is served.
    """
    model = load(model_path)
    app = create_app(model, limits, index=None if index is None else Path(index),  # a bad index: an error first
                     learned=None if learned is None else Path(learned))
    listener = _listen(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{listener.getsockname()[1]}{page}"
    print(f"whosthat: serving {model_path} ({len(model.classes)} members) at {url} (API docs at /docs; "
          "Ctrl-C stops)", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, log_level=log_level, timeout_graceful_shutdown=5, http=BoundedH11Protocol,
                            timeout_keep_alive=KEEP_ALIVE, limit_concurrency=MAX_CONNECTIONS,
                            h11_max_incomplete_event_size=MAX_HEADER_BYTES)
    server = uvicorn.Server(config)
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[listener])
    except KeyboardInterrupt:  # uvicorn raises the Ctrl-C again once it has shut down cleanly
        pass
    print("whosthat: stopped", file=sys.stderr, flush=True)


def _open_when_started(server: uvicorn.Server, url: str) -> None:
    """Open `url` in the user's browser once the server has started (not at all when it stops first)."""
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.1)
    webbrowser.open(url)


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
