"""`export_people`: each candidate person as a folder of their face crops, ready to be renamed and trained on.

whosthat deletes or overwrites only files it wrote itself and recorded; an export only adds crops: it never
overwrites a file that is there, and deletes nothing. Every face it exports is recorded in the folder's
`.whosthat-export.json`, by its photo's content hash and its number in the photo, and is not exported again,
even after its person's folder was renamed (`person_001` to `jisoo_kim`) or the crop thrown out: one person does
not come back as a second class, and a face the user took out stays out.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from whosthat.collection.people import PeopleReport
from whosthat.core.errors import WhosthatError
from whosthat.core.files import write_atomically
from whosthat.core.paths import UnsafePathError, folder_name, writing
from whosthat.report.images import face_crop, open_photo

#: Side of an exported crop in pixels, and the margin around the face (a share of its size on each side):
#: enough of the head for the detector to find the face again when the folder is trained on.
CROP = 320
MARGIN = 0.6
#: The record of the faces exported into a folder: {"<content hash>:<face>": "<person folder>/<crop>"}.
EXPORT_RECORD = ".whosthat-export.json"


class ExportError(WhosthatError):
    """An export that cannot be done as asked: into the collection itself, or with an unreadable record."""


@dataclass(frozen=True)
class ExportReport:
    """Folders written to (person label -> crops written now), crops written, faces exported before (recorded, or
    their crop already there), photos that could not be read, and notes on faces left out."""

    into: Path
    folders: dict[str, int]
    written: int
    existing: int
    missing: tuple[str, ...]
    notes: tuple[str, ...] = ()


def export_people(report: PeopleReport, into: Path, collection: Path, min_faces: int = 1) -> ExportReport:
    """Write `into/person_NNN/<photo>-<crc>-face<k>.jpg` for every face, not exported before, of every person with
    at least `min_faces` faces (see the module)."""
    into = Path(into).absolute()
    collection = Path(collection)
    if into.resolve() == collection or collection in into.resolve().parents:
        raise ExportError(f"{into}: is inside the collection {collection}; the crops would be indexed as photos: "
                          "export to a folder outside it")
    recorded = _read_record(into)
    exported = dict(recorded)
    folders: dict[str, int] = {}
    written = existing = 0
    missing: list[str] = []
    notes: list[str] = []
    try:
        with writing(into, "the exported faces"):
            for person in report.people:
                if len(person.faces) < min_faces:
                    continue
                label = folder_name(person.label)
                for face in person.faces:
                    key = f"{face.content_hash}:{face.face}"
                    if key in exported:
                        existing += 1
                        continue
                    name = PurePosixPath(face.name)
                    try:
                        crop = folder_name(f"{name.stem}-{zlib.crc32(face.name.encode()):08x}-face{face.face}.jpg")
                    except UnsafePathError as error:
                        notes.append(f"{error}: a photo's name in the index, its face not exported")
                        continue
                    target = into / label / crop
                    if not target.exists():
                        image = open_photo(face.path)
                        if image is None:
                            missing.append(face.name)
                            continue
                        data = io.BytesIO()
                        face_crop(image, face.box, CROP, MARGIN).save(data, format="JPEG", quality=92)
                        target.parent.mkdir(parents=True, exist_ok=True)
                        write_atomically(target, data.getvalue())
                        folders[label] = folders.get(label, 0) + 1
                        written += 1
                    else:
                        existing += 1
                    exported[key] = f"{label}/{crop}"
    finally:
        if exported != recorded:
            with writing(into, "the export record"):
                write_atomically(into / EXPORT_RECORD, json.dumps({"faces": exported}, indent=1).encode())
    return ExportReport(into, folders, written, existing, tuple(missing), tuple(notes))


def _read_record(into: Path) -> dict[str, str]:
    """{face key: crop written} of the faces exported into `into` before; refused when unreadable."""
    record = into / EXPORT_RECORD
    try:
        faces = json.loads(record.read_text(encoding="utf-8"))["faces"]
    except (FileNotFoundError, NotADirectoryError):
        return {}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportError(f"{record}: unreadable ({error}); move it aside to export afresh") from None
    if not (isinstance(faces, dict) and all(isinstance(v, str) for v in faces.values())):
        raise ExportError(f"{record}: unreadable (not a record of faces exported); move it aside to export afresh")
    return faces

