"""The source trees a bench runs side by side: this tree's package, and another revision's from a git worktree."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def source_trees(baseline: Optional[str]) -> Iterator[dict[str, Path]]:
    """{name: the `src` folder to put on PYTHONPATH}: with `baseline`, a git worktree of that revision first (made
    under a temporary folder and removed at the end), then this tree."""
    if not baseline:
        yield {"this tree": ROOT / "src"}
        return
    with tempfile.TemporaryDirectory(prefix="whosthat-baseline-") as scratch:
        worktree = Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(worktree), baseline],
                       check=True)
        try:
            yield {baseline: worktree / "src", "this tree": ROOT / "src"}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
