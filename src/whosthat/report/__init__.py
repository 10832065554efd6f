"""The HTML report of a trained model: plots of its data, scores, mistakes, stranger threshold and embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from whosthat.core.lazy import lazy_exports

if TYPE_CHECKING:
    from whosthat.report.build import HEADINGS, build_report, write_report

#: Public name -> the module that defines it (imported on first use).
_EXPORTS = {
    "HEADINGS": "whosthat.report.build",
    "build_report": "whosthat.report.build",
    "write_report": "whosthat.report.build",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["HEADINGS", "build_report", "write_report"]
