"""`export_people`: each candidate person as a folder of their face crops, ready to be renamed and trained on."""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from whosthat.collection.people import PeopleReport
from whosthat.errors import WhosthatError
from whosthat.report.images import face_crop, open_photo

#: Side of an exported crop in pixels, and the margin around the face (a share of its size on each side):
#: enough of the head for the detector to find the face again when the folder is trained on.
CROP = 320
MARGIN = 0.6


@dataclass(frozen=True)
class ExportReport:
    """Folders written (person label -> crops in it), crops already there, photos that could not be read."""

    into: Path
    folders: dict[str, int]
    written: int
    existing: int
    missing: tuple[str, ...]


def export_people(report: PeopleReport, into: Path, collection: Path, min_faces: int = 1) -> ExportReport:
    """Write `into/person_NNN/<photo>-face<k>.jpg` for every person with at least `min_faces` faces; crops
    already there are kept (exporting again adds the new faces)."""
    into = Path(into).absolute()
    collection = Path(collection)
    if into.resolve() == collection or collection in into.resolve().parents:
        raise WhosthatError(f"{into}: is inside the collection {collection}; the crops would be indexed as photos: "
                            "export to a folder outside it")
    folders: dict[str, int] = {}
    written = existing = 0
    missing: list[str] = []
    for person in report.people:
        if len(person.faces) < min_faces:
            continue
        folder = into / person.label
        folder.mkdir(parents=True, exist_ok=True)
        folders[person.label] = len(person.faces)
        for face in person.faces:
            name = PurePosixPath(face.name)
            target = folder / f"{name.stem}-{zlib.crc32(face.name.encode()):08x}-face{face.face}.jpg"
            if target.exists():
                existing += 1
                continue
            image = open_photo(face.path)
            if image is None:
                missing.append(face.name)
                continue
            partial = target.with_name(f".{target.name}.tmp")
            face_crop(image, face.box, CROP, MARGIN).save(partial, format="JPEG", quality=92)
            os.replace(partial, target)
            written += 1
    return ExportReport(into, folders, written, existing, tuple(missing))
