"""Contact sheets of an index: the photos `find` found (faces boxed), and the candidate people of `people`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from whosthat.collection.find import Hit
from whosthat.collection.people import PeopleReport, Person
from whosthat.core.paths import writing
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.report.html import Section, card, cards, esc, paragraph, render_page, write_page
from whosthat.report.images import boxed_thumbnail, face_crop, jpeg_url, open_photo

#: Longer side of a photo on a sheet, and side of a face crop, in pixels.
THUMBNAIL = 240
FACE = 96
#: Faces shown per person on their own page, and on the overview.
PERSON_PAGE_FACES = 300
OVERVIEW_FACES = 12


def write_hits_sheet(hits: Sequence[Hit], out: Path, title: str, subtitle: str) -> Path:
    """One page of every hit: the photo with the faces that made it a hit boxed, its path, names and scores.
    Raises `UnwritableError` when `out` cannot be written (a folder, under a file, read-only)."""
    items = []
    for hit in hits:
        image = open_photo(hit.path)
        url = jpeg_url(boxed_thumbnail(image, [f.box for f in hit.faces], THUMBNAIL)) if image is not None else None
        names = ", ".join(f.label if f.label == UNKNOWN_LABEL else f"{f.label} {f.confidence:.0%}" for f in hit.faces)
        items.append(card([(url, hit.name)], [hit.name, f"score {hit.score:.3f}", names]))
    body = cards(items) if items else paragraph("Nothing found.")
    with writing(out, "the contact sheet"):
        return write_page(out, render_page(title, subtitle,
                                                      [Section(f"Photos ({len(hits)})", "hits", body)]))


def write_people_sheets(report: PeopleReport, folder: Path, index: Path) -> Path:
    """`folder/index.html` (every group, a few faces each, linked to its page) and `folder/person_NNN.html`
    (all of a group's faces, the most typical first); returns the overview page. Raises `UnwritableError` when
    `folder` cannot be written."""
    folder = Path(folder)
    overview = []
    with writing(folder, "the contact sheets"):
        for person in report.people:
            write_page(folder / f"{person.label}.html", render_page(
                f"{person.label}: {len(person.faces)} faces", f"a candidate new person in {index}",
                [Section("Faces", "faces", _faces(person, PERSON_PAGE_FACES))]))
            link = f'<p><a href="{esc(person.label)}.html">{esc(person.label)}</a>: {len(person.faces)} faces</p>'
            overview.append(Section(f"{person.label} ({len(person.faces)} faces)", person.label,
                                    link + _faces(person, OVERVIEW_FACES)))
        subtitle = (f"{report.unknown_faces} faces named as nobody of the group; {len(report.people)} candidate "
                    f"people, {report.waiting} faces not (yet) in a group; distance {report.distance:.3f}, "
                    f"at least {report.min_faces} faces")
        if not overview:
            overview = [Section("No groups", "none", paragraph("No face has enough others like it yet."))]
        return write_page(folder / "index.html",
                                     render_page(f"whosthat people: {index}", subtitle, overview))


def _faces(person: Person, most: int) -> str:
    items = []
    for face in person.faces[:most]:
        image = open_photo(face.path)
        url = jpeg_url(face_crop(image, face.box, FACE)) if image is not None else None
        items.append(card([(url, face.name)], [face.name]))
    more = paragraph(f"and {len(person.faces) - most} more", "note") if len(person.faces) > most else ""
    return cards(items) + more
