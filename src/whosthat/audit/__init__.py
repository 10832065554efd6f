"""Collection audit: unreadable files, duplicates and leakage, faces, suspected mislabels and imbalance,
with a contact sheet of the findings and a reversible move of the suspects."""

from whosthat.audit.checks import AUDIT_DETECTOR, AUDIT_EMBEDDER, audit, audit_extractor
from whosthat.audit.findings import KINDS, AuditResult, Finding
from whosthat.audit.moves import MoveLog, move_suspects, undo_moves
from whosthat.audit.sheet import write_contact_sheet

__all__ = ["AUDIT_DETECTOR", "AUDIT_EMBEDDER", "KINDS", "AuditResult", "Finding", "MoveLog", "audit",
           "audit_extractor", "move_suspects", "undo_moves", "write_contact_sheet"]
