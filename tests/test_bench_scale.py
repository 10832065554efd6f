"""bench/scale.py --quick builds both indexes through the store and prints a row for every operation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from scale import OPERATIONS  # noqa: E402

#: A cell of the table: seconds (or milliseconds) and the peak memory.
CELL = re.compile(r"\d+(\.\d+)? m?s / \d+\.\d\d GB")


@pytest.mark.slow
def test_quick_scale_benchmark_times_every_operation(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "bench/scale.py", "--quick", "--work", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| operation | 10^4 real-shaped s / GB | 10^4 synthetic s / GB |" in run.stdout
    rows = {cells[0]: cells[1:] for cells in ([c.strip() for c in line.strip("|").split("|")]
                                              for line in run.stdout.splitlines() if line.startswith("| "))}
    for name in OPERATIONS:
        assert len(rows[name]) == 2 and all(CELL.fullmatch(cell) for cell in rows[name]), (name, rows.get(name))
    assert "Load average" in run.stdout
