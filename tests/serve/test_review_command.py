"""`whosthat review DIR` as a user runs it: a real process serving the review page of the index with the index's own
model on loopback, its address printed and opened in the browser, stopped by Ctrl-C; and its errors."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from serve.review_index import review_index, review_pristine
from whosthat.cli import main
from whosthat.collection import Index

__all__ = ["review_index", "review_pristine"]


def test_review_serves_the_page_of_the_index_and_opens_the_browser(review_index: Index, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = f"{sys.executable} -c \"import sys, pathlib; pathlib.Path({str(opened)!r}).write_text(sys.argv[1])\" %s"
    process = subprocess.Popen([sys.executable, "-m", "whosthat.cli", "review", str(review_index.directory),
                                "--port", "0"], stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "BROWSER": browser})
    try:
        line = process.stderr.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/review) ", line)
        assert url and str(review_index.store.model_path()) in line, line
        deadline = time.monotonic() + 90
        while not opened.exists():
            assert process.poll() is None and time.monotonic() < deadline, "the browser was not opened"
            time.sleep(0.2)
        assert opened.read_text() == url[1]
        assert "review.js" in httpx.get(url[1]).text
        faces = httpx.get(url[1].replace("/review", "/v1/index/review/faces"), timeout=60)
        assert faces.status_code == 200 and faces.json()["total"] >= 8
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr.read().rstrip().endswith("whosthat: stopped")
    finally:
        process.kill()
        process.wait()


def test_review_of_a_folder_that_is_no_index_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["review", str(tmp_path), "--no-browser"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("whosthat: error: ") and "not a whosthat index" in error and error.count("\n") == 1
