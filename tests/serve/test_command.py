"""`whosthat serve` as a user runs it: a real process on loopback that stops cleanly on Ctrl-C, and its errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import BLACKPINK_GROUP, BLACKPINK_GROUP_ORDER
from whosthat.cli import main
from whosthat.models.model import Model


@pytest.fixture(scope="module")
def model_file(blackpink_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return blackpink_model.save(tmp_path_factory.mktemp("serve-model") / "blackpink.wt")


def test_serve_runs_on_a_free_port_and_stops_on_ctrl_c(model_file: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "whosthat.cli", "serve", str(model_file), "--port", "0"],
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)
        assert url, line
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(url[1] + "healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the service did not come up"
                time.sleep(0.2)
        answer = httpx.post(url[1] + "v1/predict", content=BLACKPINK_GROUP.read_bytes(), timeout=60).json()
        assert [f["label"] for f in sorted(answer["faces"], key=lambda f: f["box"][0])] == BLACKPINK_GROUP_ORDER
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        rest = process.stderr.read()
        assert "Traceback" not in rest and rest.rstrip().endswith("whosthat: stopped")
    finally:
        process.kill()
        process.wait()


def test_missing_model_file_is_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["serve", str(tmp_path / "missing.wt")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("whosthat: error: ") and "missing.wt" in error and error.count("\n") == 1


def test_busy_port_is_one_line_and_status_2(model_file: Path, capsys: pytest.CaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", str(model_file), "--port", str(port)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"whosthat: error: cannot listen on 127.0.0.1:{port} (") and error.count("\n") == 1


@pytest.mark.parametrize("host, port", [("127.0.0.1", "70000"), ("192.0.2.1", "8000")])
def test_bad_address_is_one_line_and_status_2(model_file: Path, capsys: pytest.CaptureFixture, host: str,
                                              port: str) -> None:
    assert main(["serve", str(model_file), "--host", host, "--port", port]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"whosthat: error: cannot listen on {host}:{port} (") and error.count("\n") == 1
