"""What an audit found: one `Finding` per problem, gathered in an `AuditResult` with its summary and JSON form."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

UNREADABLE = "unreadable"
DUPLICATE = "duplicate"
CROSS_CLASS = "cross-class duplicate"
LEAKAGE = "train/test leak"
NO_FACE = "no face"
SEVERAL_FACES = "several faces"
MISLABEL = "suspected mislabel"
IMBALANCE = "class imbalance"

#: Kinds in the order they are reported, with a heading for each.
KINDS = {
    UNREADABLE: "Unreadable files",
    DUPLICATE: "Duplicates within a class",
    CROSS_CLASS: "Duplicates across classes",
    LEAKAGE: "Duplicates between training and test folders (leakage)",
    NO_FACE: "Photos with no face",
    SEVERAL_FACES: "Photos with several faces",
    MISLABEL: "Suspected mislabels",
    IMBALANCE: "Class imbalance",
}


@dataclass(frozen=True)
class Finding:
    """One problem: its kind, the photos involved, a one-line message, and which of the photos `--move-to`
    would move aside (for duplicates, every copy but the one kept). `boxes`: the faces found in a
    single-photo finding (x1, y1, x2, y2 each), for the contact sheet."""

    kind: str
    paths: tuple[Path, ...]
    message: str
    suspects: tuple[Path, ...] = ()
    boxes: tuple[tuple[float, float, float, float], ...] = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "paths": [str(p) for p in self.paths], "message": self.message,
                "suspects": [str(p) for p in self.suspects], "boxes": [list(b) for b in self.boxes]}


@dataclass
class AuditResult:
    """Everything an audit found in a folder (and its test folder), with the counts it was judged against."""

    root: Path
    counts: dict[str, int]
    findings: list[Finding] = field(default_factory=list)
    test_root: Optional[Path] = None
    test_photos: int = 0
    face_checks: bool = True
    face_note: str = ""
    seconds: float = 0.0

    @property
    def photos(self) -> int:
        return sum(self.counts.values())

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def suspects(self) -> list[Path]:
        """Every photo some finding suggests moving aside, once each, in finding order."""
        return list(dict.fromkeys(p for f in self.findings for p in f.suspects))

    def display(self, path: Path) -> str:
        """A path as the user knows it: relative to the audited folder or the test folder."""
        for root, prefix in ((self.root, ""), (self.test_root, "test: ")):
            if root is not None and path.is_relative_to(root):
                return prefix + path.relative_to(root).as_posix()
        return str(path)

    def to_dict(self) -> dict:
        """The JSON form (`whosthat audit --json`)."""
        return {"folder": str(self.root), "test_dir": str(self.test_root) if self.test_root else None,
                "photos": self.photos, "test_photos": self.test_photos, "counts": self.counts,
                "face_checks": self.face_checks, "face_note": self.face_note,
                "summary": dict(Counter(f.kind for f in self.findings)),
                "findings": [f.to_dict() for f in self.findings], "seconds": round(self.seconds, 2)}

    def format_text(self, shown: int = 8) -> str:
        """The terminal summary: counts per kind, then the first findings of each kind."""
        test = f", test folder {self.test_root} ({self.test_photos} photos)" if self.test_root else ""
        lines = [f"audit of {self.root}: {self.photos} photos in {len(self.counts)} classes{test}"]
        if not self.face_checks:
            lines.append(f"face checks (no face, several faces, mislabels): {self.face_note}")
        by_kind = Counter(f.kind for f in self.findings)
        for kind, title in KINDS.items():
            if kind in (NO_FACE, SEVERAL_FACES, MISLABEL) and not self.face_checks:
                continue
            lines.append(f"  {title.lower()}: {by_kind.get(kind, 0)}")
        for kind, title in KINDS.items():
            found = self.of_kind(kind)
            if not found:
                continue
            lines += ["", f"{title}:"]
            lines += [f"  {f.message}" for f in found[:shown]]
            if len(found) > shown:
                lines.append(f"  ... and {len(found) - shown} more")
        suspects = self.suspects()
        if suspects:
            lines += ["", f"{len(suspects)} photos are suspects; `--move-to DIR` moves them aside (and "
                          "`whosthat audit --undo DIR/manifest.json` puts them back)."]
        return "\n".join(lines)
