"""Self-contained HTML pages (the report and the audit's contact sheet): sections, tables, figures, photo cards.

Every piece of text from a user (class names, file paths, messages) goes through `html.escape`.
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from whosthat.core.files import write_atomically

#: The mark every page whosthat writes carries in its head: a page with it may be replaced by a newer one.
GENERATOR = '<meta name="generator" content="whosthat">'

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1em 2em 3em; color: #222; background: #fff; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
.subtitle { color: #666; margin-top: 0; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 0.5em 0; } figure img { max-width: 100%; height: auto; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 6px; width: 250px; font-size: 0.85em;
        overflow-wrap: anywhere; }
.card.wide { width: auto; max-width: 540px; }
.card img { display: block; max-width: 240px; max-height: 240px; margin: 0 auto 4px; }
.card .photos { display: flex; gap: 6px; } .card .photos img { max-width: 128px; max-height: 128px; margin: 0; }
.missing { color: #a33; font-style: italic; }
.note { color: #555; }
"""


@dataclass(frozen=True)
class Section:
    """One titled part of a page; `body` is HTML built with the helpers below."""

    title: str
    anchor: str
    body: str


def esc(text: object) -> str:
    """Text for HTML (quotes too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def paragraph(text: str, css: str = "") -> str:
    return f'<p class="{css}">{esc(text)}</p>' if css else f"<p>{esc(text)}</p>"


def figure(url: str, alt: str) -> str:
    """An inline image (a data URL) with its alternative text."""
    return f'<figure><img src="{esc(url)}" alt="{esc(alt)}"></figure>'


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table; numbers are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{esc(v)}</td>' if isinstance(v, (int, float)) or _numeric(v)
                         else f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def card(images: Sequence[tuple[Optional[str], str]], lines: Sequence[str], wide: bool = False) -> str:
    """A photo card: each image as (data URL or None when the photo is gone, alt text), then caption lines."""
    pictures = "".join(f'<img src="{esc(url)}" alt="{esc(alt)}">' if url
                       else f'<div class="missing">{esc(alt)}: photo not found</div>' for url, alt in images)
    if len(images) > 1:
        pictures = f'<div class="photos">{pictures}</div>'
    caption = "".join(f"<div>{esc(line)}</div>" for line in lines)
    return f'<div class="card{" wide" if wide else ""}">{pictures}{caption}</div>'


def cards(items: Sequence[str]) -> str:
    return f'<div class="cards">{"".join(items)}</div>'


def render_page(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole page: no script, no external resource, every image inline."""
    navigation = "".join(f'<a href="#{esc(s.anchor)}">{esc(s.title)}</a>' for s in sections)
    parts = "".join(f'<section id="{esc(s.anchor)}"><h2>{esc(s.title)}</h2>{s.body}</section>' for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'{GENERATOR}<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body><h1>{esc(title)}</h1>"
            f'<p class="subtitle">{esc(subtitle)}</p><nav>{navigation}</nav>{parts}</body></html>\n')


def _numeric(value: object) -> bool:
    return isinstance(value, str) and value.rstrip("%").removeprefix("-").replace(".", "", 1).isdigit()


def is_whosthat_page(path: Path) -> bool:
    """Whether the file at `path` is a page whosthat wrote (its head carries `GENERATOR`)."""
    try:
        with open(path, "rb") as stream:
            return GENERATOR.encode() in stream.read(4096)
    except OSError:
        return False


def write_page(path: str | os.PathLike, page: str) -> Path:
    """Write a page whole or not at all, over a page whosthat wrote but no other file (`NotOursError`)."""
    return write_atomically(path, page, ours=is_whosthat_page)
