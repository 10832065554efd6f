"""The command line, one module per command (`add_parser` for its options, `run` for its work, heavy imports
inside `run` only, so that `whosthat --help` and `whosthat COMMAND --help` load no network or library)."""

from whosthat.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
