"""bench/collection_index.py still runs as bench/README.md shows: a quick pass of the vector-store table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_vector_store_benchmark_prints_its_table(tmp_path: Path) -> None:
    command = [sys.executable, "bench/collection_index.py", "--skip-photos", "--sizes", "2000", "--queries", "5",
               "--work", str(tmp_path)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| 2,000 |")]
    assert [row.split(" | ")[1] for row in rows] == ["FAISS file", "sqlite-vec", "LanceDB"]
    assert all(row.split(" | ")[5] == "1.000" for row in rows), "exact search finds the exact answer"
