"""How long `whosthat --help` and `whosthat COMMAND --help` take from a cold process, beside another revision.

Each command line runs `--repeats` times as a new process (`python -m whosthat.cli ...`); the table gives the
median seconds. With `--baseline REV`, the same command lines run from a git worktree of REV (made under /tmp,
removed at the end), one after the other with the current code, so that the machine's load falls on both alike.
The load average is printed with the table: figures on a busy machine are several times a quiet one's.

    .venv/bin/python bench/startup.py
    .venv/bin/python bench/startup.py --baseline b2063c9 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from revisions import source_trees

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ("train", "predict", "evaluate", "report", "audit", "serve", "ensemble", "index", "find", "sort", "people")


def seconds(src: Path, argv: list[str]) -> float:
    """Wall seconds of one `python -m whosthat.cli ARGV` with the package at `src`."""
    environment = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "whosthat.cli", *argv], env=environment, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each command line (default 5)")
    parser.add_argument("--baseline", metavar="REV", help="a git revision to time beside the current code")
    args = parser.parse_args()
    lines = [["--help"], *[[command, "--help"] for command in COMMANDS]]
    with source_trees(args.baseline) as sources:
        times: dict[str, dict[str, list[float]]] = {name: {" ".join(a): [] for a in lines} for name in sources}
        for _ in range(args.repeats):
            for argv in lines:
                for name, src in sources.items():  # in turn: the load falls on both alike
                    times[name][" ".join(argv)].append(seconds(src, argv))
    print(f"median seconds of {args.repeats} cold runs; load average {os.getloadavg()[0]:.1f}\n")
    print("| command line | " + " | ".join(sources) + " |")
    print("| --- | " + " | ".join("---:" for _ in sources) + " |")
    for argv in lines:
        key = " ".join(argv)
        print(f"| `whosthat {key}` | " + " | ".join(f"{statistics.median(times[n][key]):.2f}" for n in sources) + " |")


if __name__ == "__main__":
    main()
