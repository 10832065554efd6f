"""mkdocs hook: the command-line reference (docs/cli.md), generated from whosthat's own argument parser.

The page holds a marker; at build time it is replaced by `whosthat --help` and `whosthat COMMAND --help`
for every command the parser has, so the reference can never drift from the program.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

MARKER = "<!-- cli-reference -->"
#: Help text is wrapped at this width, whatever terminal the build runs in.
WIDTH = "100"


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    text = parser.format_help()
    # Defaults computed from this machine (the cache folder under the home directory) read as `~`.
    home = str(Path.home())
    if home not in ("", "/"):
        text = text.replace(home, "~")
    return text.rstrip()


def _block(text: str) -> str:
    return f"```text\n{text}\n```\n"


def render() -> str:
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        from whosthat.cli import build_parser

        parser = build_parser()
        parts = ["## whosthat\n", _block(_help(parser))]
        for name, command in _commands(parser).items():
            parts += [f"## whosthat {name}\n", _block(_help(command))]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri != "cli.md":
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/cli.md must hold the marker {MARKER!r} where the reference goes")
    return markdown.replace(MARKER, render())
