"""The audit's contact sheet: one self-contained HTML page with a thumbnail of every photo of every finding."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.audit.findings import IMBALANCE, KINDS, MISLABEL, NO_FACE, SEVERAL_FACES, AuditResult, Finding
from whosthat.report.html import Section, card, cards, figure, paragraph, render_page, table, write_page
from whosthat.report.images import boxed_thumbnail, jpeg_url, open_photo

#: Thumbnail size in pixels (longer side) of photos on the sheet.
THUMBNAIL = 128


def write_contact_sheet(result: AuditResult, out: str | os.PathLike) -> Path:
    """Write the contact sheet of `result` to `out` (atomically) and return its path."""
    return write_page(out, build_contact_sheet(result))


def build_contact_sheet(result: AuditResult) -> str:
    """The page as a string: the class sizes, then a section per kind of finding with its photos."""
    cache: dict[Path, Optional[np.ndarray]] = {}
    sections = [Section("Classes", "classes", _classes(result))]
    for kind, title in KINDS.items():
        found = result.of_kind(kind)
        if kind in (NO_FACE, SEVERAL_FACES, MISLABEL) and not result.face_checks:
            body = paragraph(f"Face checks {result.face_note}.", "note")
        elif kind == IMBALANCE:
            body = paragraph(found[0].message) if found else paragraph("The classes are of similar size.")
        elif not found:
            body = paragraph("None found.")
        else:
            body = cards([_card(f, result, cache) for f in found])
        sections.append(Section(f"{title} ({len(found)})", kind.replace(" ", "-").replace("/", "-"), body))
    subtitle = f"{result.photos} photos in {len(result.counts)} classes; {len(result.findings)} findings"
    if result.test_root:
        subtitle += f"; test folder {result.test_root} ({result.test_photos} photos)"
    return render_page(f"whosthat audit: {result.root.name}", subtitle, sections)


def _classes(result: AuditResult) -> str:
    from whosthat.report.plots import class_distribution  # matplotlib loads only when a sheet is drawn

    names = list(result.counts)
    plot = class_distribution(names, {"photos": list(result.counts.values())}, "Photos per class")
    return (paragraph(f"Audited folder: {result.root}") + figure(plot, "photos per class")
            + table(["class", "photos"], list(result.counts.items())))


def _card(finding: Finding, result: AuditResult, cache: dict[Path, Optional[np.ndarray]]) -> str:
    images: list[tuple[Optional[str], str]] = []
    for path in finding.paths:
        if path not in cache:
            cache[path] = open_photo(path)
        image = cache[path]
        if image is None:
            images.append((None, result.display(path)))
            continue
        picture = boxed_thumbnail(image, finding.boxes, THUMBNAIL * (2 if len(finding.paths) == 1 else 1))
        images.append((jpeg_url(picture), result.display(path)))
    lines = [finding.message]
    if finding.suspects:
        lines.append("--move-to moves: " + ", ".join(result.display(p) for p in finding.suspects))
    return card(images, lines, wide=len(finding.paths) > 1)
