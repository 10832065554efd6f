"""Moving suspect photos aside (never deleting them) and putting them back, through a JSON manifest."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from whosthat.audit.findings import AuditResult
from whosthat.core.errors import DatasetError
from whosthat.core.files import write_atomically

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "whosthat-audit-moves"


@dataclass(frozen=True)
class Move:
    """One photo moved from `source` to `target`, and why."""

    source: Path
    target: Path
    kinds: tuple[str, ...]


@dataclass
class MoveLog:
    """What a move or an undo did: the moves done, and one line per file it could not handle."""

    done: list[Move] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    manifest: Path = Path()


def move_suspects(result: AuditResult, destination: str | os.PathLike) -> MoveLog:
    """Move every suspect of `result` under `destination` (keeping its path relative to the audited
    folder) and write `destination/manifest.json`, which `undo_moves` reverses.

    The manifest is written before anything moves, so an interrupted run can still be undone.
    """
    destination = Path(destination).resolve()
    manifest = destination / MANIFEST_NAME
    if manifest.exists():
        raise DatasetError(f"{manifest}: already holds moved photos; undo them first or choose another folder")
    if destination.is_relative_to(result.root.resolve()):
        raise DatasetError(f"{destination}: inside the audited folder; choose a folder outside {result.root}")
    kinds: dict[Path, list[str]] = {}
    for finding in result.findings:
        for path in finding.suspects:
            kinds.setdefault(path, []).append(finding.kind)
    plan = [Move(path.absolute(), destination / path.relative_to(result.root), tuple(dict.fromkeys(k)))
            for path, k in kinds.items()]
    log = MoveLog(manifest=manifest)
    _write_manifest(manifest, result.root, plan)
    for move in plan:
        if move.target.exists() or move.target.is_symlink():
            log.problems.append(f"{move.target}: already exists; {move.source} left in place")
            continue
        try:
            move.target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(move.source, move.target)
        except OSError as error:
            log.problems.append(f"{move.source}: not moved ({error.strerror or error})")
            continue
        log.done.append(move)
    return log


def undo_moves(manifest: str | os.PathLike) -> MoveLog:
    """Put back every photo a manifest lists as moved; files already back, or whose place is taken, are reported."""
    manifest = Path(manifest)
    if manifest.is_dir():
        manifest = manifest / MANIFEST_NAME
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        moves = [Move(Path(m["from"]), Path(m["to"]), tuple(m["kinds"])) for m in data["moves"]]
        if data.get("format") != MANIFEST_FORMAT:
            raise KeyError("format")
    except FileNotFoundError:
        raise DatasetError(f"{manifest}: no such manifest") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DatasetError(f"{manifest}: not a whosthat audit manifest ({error})") from None
    log = MoveLog(manifest=manifest)
    for move in moves:
        if not (move.target.exists() or move.target.is_symlink()):
            if move.source.exists() or move.source.is_symlink():
                continue
            log.problems.append(f"{move.target}: missing; cannot put back {move.source}")
            continue
        if move.source.exists() or move.source.is_symlink():
            log.problems.append(f"{move.source}: a file is there again; {move.target} left where it is")
            continue
        try:
            move.source.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(move.target, move.source)
        except OSError as error:
            log.problems.append(f"{move.target}: not put back ({error.strerror or error})")
            continue
        log.done.append(move)
    return log


def _write_manifest(path: Path, root: Path, plan: list[Move]) -> None:
    data = {"format": MANIFEST_FORMAT, "version": 1, "folder": str(root.absolute()),
            "moves": [{"from": str(m.source), "to": str(m.target), "kinds": list(m.kinds)} for m in plan]}
    write_atomically(path, json.dumps(data, indent=2, ensure_ascii=False))
