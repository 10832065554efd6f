"""Collection audit: unreadable files, duplicates and leakage, faces, suspected mislabels and imbalance,
with a contact sheet of the findings and a reversible move of the suspects."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.audit.checks import audit, audit_extractor
    from whosthat.audit.defaults import AUDIT_DETECTOR, AUDIT_EMBEDDER
    from whosthat.audit.findings import KINDS, AuditResult, Finding
    from whosthat.audit.moves import MoveLog, move_suspects, undo_moves
    from whosthat.audit.sheet import write_contact_sheet

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "AUDIT_DETECTOR": "whosthat.audit.defaults",
    "AUDIT_EMBEDDER": "whosthat.audit.defaults",
    "audit": "whosthat.audit.checks",
    "audit_extractor": "whosthat.audit.checks",
    "KINDS": "whosthat.audit.findings",
    "AuditResult": "whosthat.audit.findings",
    "Finding": "whosthat.audit.findings",
    "MoveLog": "whosthat.audit.moves",
    "move_suspects": "whosthat.audit.moves",
    "undo_moves": "whosthat.audit.moves",
    "write_contact_sheet": "whosthat.audit.sheet",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["AUDIT_DETECTOR", "AUDIT_EMBEDDER", "AuditResult", "Finding", "KINDS", "MoveLog", "audit",
           "audit_extractor", "move_suspects", "undo_moves", "write_contact_sheet"]
