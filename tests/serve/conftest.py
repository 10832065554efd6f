"""Fixtures of the service tests: the app on the blackpink model, in-process and on a real loopback server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from whosthat.models.model import Model
from whosthat.serve import create_app


@pytest.fixture(scope="session")
def app(blackpink_model: Model) -> FastAPI:
    """The service on the blackpink model with the default limits."""
    return create_app(blackpink_model)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """An in-process client; its lifespan (warm-up, worker limit) runs once for the session."""
    with TestClient(app) as test_client:
        yield test_client


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` on a real uvicorn server on loopback, in a thread, while the block runs: its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the uvicorn server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_url(app: FastAPI) -> Iterator[str]:
    """The service on a real uvicorn server on loopback, in a thread, for the session."""
    with served(app) as url:
        yield url
