"""`TrainingLog`: what a training run reports as it goes (notes per photo, timings, lines for the user)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

from whosthat.models.records import FinetuneLog, Note, Split
from whosthat.training.evaluate import Evaluation


@dataclass
class TrainingLog:
    """Collects, during one run, what the model file's `TrainingRecord` keeps and what the CLI prints.

    echo: called with each `say` line as it happens (the CLI prints them).
    """

    notes: list[Note] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    split: Optional[Split] = None
    evaluation: Optional[Evaluation] = None
    finetune: Optional[FinetuneLog] = None
    messages: list[str] = field(default_factory=list)
    echo: Optional[Callable[[str], None]] = None

    def say(self, message: str) -> None:
        """A line about the run as a whole (the subject chosen, fine-tuning epochs, the device used)."""
        self.messages.append(message)
        if self.echo is not None:
            self.echo(message)

    def note(self, path: str | os.PathLike, kind: str, message: str) -> None:
        """Record a note of a kind (the kinds `whosthat.models.records.Note` lists)."""
        self.notes.append(Note(str(path), kind, message))
