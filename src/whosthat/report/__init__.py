"""The HTML report of a trained model: plots of its data, scores, mistakes, stranger threshold and embeddings."""

from whosthat.report.build import HEADINGS, build_report, write_report

__all__ = ["HEADINGS", "build_report", "write_report"]
