"""Embedder specs, the `--embedder` syntax: registered names joined by '+', each with an optional ':VALUE'
(`facenet`, `arcface+facenet+dlib`, `arcface:~/models/w600k_r50.onnx+facenet`).

A spec says what to build; the embedder built records what it became (`name` and `settings`, e.g. the
ArcFace file's resolved path and sha256), which is what a model keeps and checks.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from whosthat.core.errors import WhosthatError
from whosthat.vision.embedders.registry import EMBEDDERS

if TYPE_CHECKING:
    from whosthat.vision.embedders.base import Embedder

#: The keyword that `NAME:VALUE` sets, for the embedders that take one.
VALUE_KEYWORDS = {"arcface": "path"}
#: Registered embedders a spec cannot name: a fine-tuned network comes from `train --finetune`.
NOT_IN_SPECS = frozenset({"finetuned"})
#: Embedders made for human faces (they align a face by its landmarks); the others see any picture.
FACE_NAMES = frozenset({"arcface", "facenet", "dlib"})
#: The syntax, for --help and error messages.
SYNTAX = "NAME or NAME+NAME+..., where arcface takes an InsightFace model as arcface:PATH"


@dataclass(frozen=True)
class SpecPart:
    """One embedder of a spec: its registered name and its ':VALUE', if any."""

    name: str
    value: Optional[str] = None


def create_embedder(name: str, **kwargs: Any) -> Embedder:
    """Build a registered embedder by name (see `EMBEDDERS.names()`), or registered ones side by side by
    their names joined with '+' (`combined.concatenate`: the same keywords for each, or `parts=[...]`)."""
    if "+" in name and name not in EMBEDDERS.names():
        from whosthat.vision.embedders.combined import concatenate

        return concatenate(name.split("+"), **kwargs)
    return EMBEDDERS.create(name, **kwargs)


def spec_names() -> list[str]:
    """The names a spec may use, in registration order."""
    return [n for n in EMBEDDERS.names() if n not in NOT_IN_SPECS and "+" not in n]


def parse_spec(spec: str) -> tuple[SpecPart, ...]:
    """The parts of a spec, in order. A '+' inside a VALUE (a path) stays in it when what follows is
    no embedder's name. Raises WhosthatError, one line saying what is wrong."""
    known = spec_names()
    parts: list[SpecPart] = []
    for token in spec.split("+"):
        name, colon, value = token.partition(":")
        name = name.strip()
        if name not in known and parts and parts[-1].value is not None:
            parts[-1] = SpecPart(parts[-1].name, f"{parts[-1].value}+{token}")
            continue
        if not name:
            raise WhosthatError(f"embedder {spec!r}: an empty name ({SYNTAX})")
        if name not in known:
            where = f" in {spec!r}" if spec.strip() != name else ""
            raise WhosthatError(f"unknown embedder {name!r}{where}: choose from {', '.join(known)} ({SYNTAX})")
        if colon and name not in VALUE_KEYWORDS:
            raise WhosthatError(f"embedder {spec!r}: {name} takes no ':' value ({SYNTAX})")
        if colon and not value:
            raise WhosthatError(f"embedder {spec!r}: nothing after '{name}:' ({SYNTAX})")
        parts.append(SpecPart(name, value if colon else None))
    return tuple(parts)


def made_for_faces(spec: str) -> bool:
    """Whether every embedder of the spec is made for human faces (then faces are what it should be given)."""
    return all(part.name in FACE_NAMES for part in parse_spec(spec))


def embedder_from_spec(spec: str, **shared: object) -> Embedder:
    """The embedder a spec describes, every part built with the `shared` keywords (e.g. flip=True) and
    its ':VALUE'. Raises WhosthatError (MissingWeightsError when arcface's file is not found)."""
    parts = parse_spec(spec)
    keywords = [{**shared, **({VALUE_KEYWORDS[p.name]: p.value} if p.value is not None else {})} for p in parts]
    if len(parts) == 1:
        return create_embedder(parts[0].name, **keywords[0])
    return create_embedder("+".join(p.name for p in parts), parts=keywords)


def spec_argument(text: str) -> str:
    """argparse `type` of --embedder: the spec as given, once it parses (argparse reports the error)."""
    try:
        parse_spec(text)
    except WhosthatError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text
