"""Slow and unfinished clients against a real `whosthat serve` on loopback: closed in bounded time, while a normal
request is still answered."""

from __future__ import annotations

import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

import whosthat
from whosthat.serve import create_app
from whosthat.serve.server import KEEP_ALIVE, BoundedH11Protocol

MODEL = Path(__file__).parents[1] / "data" / "celebrity5-facenet-format1.wt"
TRICKLERS = 50
SILENT = 10
#: How late after its bound a connection may be closed (the server's timer, the test's polling).
SLACK = 2.5
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    """`whosthat serve` on the small celebrity5 model, on a free port, stopped with Ctrl-C after the module."""
    process = subprocess.Popen([sys.executable, "-m", "whosthat.cli", "serve", str(MODEL), "--port", "0"],
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        found = re.search(r"at (http://127\.0\.0\.1:\d+)/", process.stderr.readline())
        assert found, "the service did not say where it listens"
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(found[1] + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.2)
        yield found[1]
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        process.kill()
        process.wait()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    connection.setblocking(False)
    return connection


def _closed(connection: socket.socket) -> bool:
    """Whether the server closed the connection (what it sent before closing is read and dropped)."""
    if not select.select([connection], [], [], 0)[0]:
        return False
    try:
        return connection.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def _answered(url: str) -> socket.socket:
    """A connection that asked one whole request and got its answer (kept alive)."""
    connection = _connect(url)
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    select.select([connection], [], [], 5)
    assert b"200 OK" in connection.recv(65536)
    return connection


def test_slow_silent_and_idle_clients_are_closed_while_others_are_answered(url: str) -> None:
    """Clients trickling their request line and headers, clients sending nothing, a connection idle after its
    answer, and one trickling its next request: all closed within their bounds; meanwhile normal requests are
    answered at once."""
    bound = BoundedH11Protocol.header_timeout
    idle, slow_next = _answered(url), _answered(url)
    start = time.monotonic()
    trickling = [_connect(url) for _ in range(TRICKLERS)] + [slow_next]
    silent = [_connect(url) for _ in range(SILENT)]
    everyone = trickling + silent + [idle]
    sent = 0
    closed_at: dict[socket.socket, float] = {}
    answered = []
    while len(closed_at) < len(everyone) and time.monotonic() - start < bound + SLACK:
        for connection in trickling:  # a byte of the request every 0.2 s: it would take 40 s to finish
            if connection not in closed_at:
                try:
                    connection.send(REQUEST[sent:sent + 1])
                except (BrokenPipeError, ConnectionResetError):
                    closed_at[connection] = time.monotonic() - start
        sent += 1
        for connection in everyone:
            if connection not in closed_at and _closed(connection):
                closed_at[connection] = time.monotonic() - start
        if len(answered) < 3 and time.monotonic() - start > 2 + 3 * len(answered):
            asked = time.monotonic()
            assert httpx.get(url + "/healthz", timeout=5).status_code == 200
            answered.append(time.monotonic() - asked)
        time.sleep(0.2)
    for connection in everyone:
        connection.close()
    assert len(closed_at) == len(everyone), f"{len(everyone) - len(closed_at)} connections still open"
    assert closed_at[idle] < KEEP_ALIVE + SLACK
    slow = [closed_at[c] for c in trickling + silent]
    assert min(slow) > bound - 1 and max(slow) < bound + SLACK, "slow clients closed at their bound, not before"
    assert len(answered) == 3 and max(answered) < 2.0, answered


class QuickProtocol(BoundedH11Protocol):
    """The same limits, shorter, for a test of a stalled upload that takes a few seconds."""

    header_timeout = 2.0
    body_stall = 1.5


def test_a_stalled_upload_is_closed() -> None:
    app = create_app(whosthat.load(MODEL))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, http=QuickProtocol, log_level="warning"))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive()
            time.sleep(0.05)
        connection = _connect(f"http://127.0.0.1:{listener.getsockname()[1]}")
        connection.sendall(b"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n"
                           b"Content-Length: 100000\r\n\r\n" + MODEL.read_bytes()[:1000])
        start = time.monotonic()
        while not _closed(connection):
            assert time.monotonic() - start < QuickProtocol.body_stall + SLACK, "a stalled upload kept its connection"
            time.sleep(0.1)
        assert time.monotonic() - start > QuickProtocol.body_stall - 0.5
        connection.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
