"""The report opened in headless Chromium: every image loads, nothing errs, nothing is fetched."""

from __future__ import annotations

from pathlib import Path

from whosthat.models.model import Model
from whosthat.report import HEADINGS, write_report


def test_report_in_a_browser(kpop_model: Model, tmp_path: Path, browser_page) -> None:
    report = write_report(kpop_model, tmp_path / "kpop report.html")
    page = browser_page.page
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    assert page.locator("h2").all_inner_texts() == list(HEADINGS)
    assert page.locator("figure img").count() == 5
    assert browser_page.broken_images() == []
    assert browser_page.console_errors == [] and browser_page.failed_requests == []
    widths = page.evaluate("Array.from(document.querySelectorAll('figure img'))"
                           ".map(i => i.getBoundingClientRect().width)")
    assert min(widths) > 300, "every figure is drawn at a readable size"
    assert browser_page.screenshot(tmp_path / "report.png").stat().st_size > 50_000
