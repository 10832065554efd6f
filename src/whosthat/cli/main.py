"""`whosthat`: the parser of every command (one module each in this package) and the entry point, which turns
every error a user can cause into one line and an exit status."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Optional

from whosthat.cli import (
    audit,
    ensemble,
    evaluate,
    find,
    index,
    label,
    learn,
    people,
    predict,
    report,
    review,
    serve,
    sort,
    train,
)
from whosthat.core.errors import WhosthatError, one_line
from whosthat.core.paths import printable
from whosthat.version import __version__

#: The commands, in the order `whosthat --help` lists them.
COMMANDS = (train, predict, evaluate, report, audit, serve, ensemble, index, find, sort, people, label, learn,
            review)

EXAMPLES = """examples:
  whosthat train photos/blackpink --out blackpink.wt
  whosthat predict blackpink.wt concert.jpg more_photos/ --annotate annotated/
  whosthat predict blackpink.wt concert.jpg --json
  whosthat evaluate blackpink.wt photos/test
  whosthat report blackpink.wt --out blackpink.html
  whosthat audit photos/blackpink --test-dir photos/test --move-to suspects/
  whosthat serve blackpink.wt --port 8000
  whosthat ensemble frozen.wt finetuned.wt --out both.wt
  whosthat index blackpink.wt ~/Pictures
  whosthat find ~/Pictures --name jennie_kim --with lisa_manoban
  whosthat sort ~/Pictures --into ~/sorted
  whosthat people ~/Pictures --export new_members/
  whosthat label ~/Pictures party/IMG_0042.jpg:1 jennie_kim
  whosthat learn ~/Pictures --out blackpink-v2.wt
  whosthat review ~/Pictures
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its sub-commands (kept separate so tests and docs can read it)."""
    parser = argparse.ArgumentParser(
        prog="whosthat", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EXAMPLES,
        description="Learn the members of a group from a folder of photos per person, then name every face.")
    parser.add_argument("--version", action="version", version=f"whosthat {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the `whosthat` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except WhosthatError as error:
        print(f"whosthat: error: {printable(str(error))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("whosthat: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`whosthat predict ... | head`): stop quietly, as other command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as error:
        # The last safety net for a file or folder the user named that the system refused (permissions, a
        # folder where a file was expected, a name too long, a full or read-only disk); an OSError without
        # an errno is a bug and keeps its traceback.
        if error.errno is None:
            raise
        names = [str(name) for name in (error.filename, error.filename2) if name is not None]
        where = " -> ".join(names) + ": " if names else ""
        print(f"whosthat: error: {printable(one_line(where + (error.strerror or os.strerror(error.errno)), 500))}",
              file=sys.stderr)
        return 2
