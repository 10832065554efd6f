"""The page in headless Chromium on the real server: upload the group photo, find the four names on it."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import httpx

from conftest import BLACKPINK_GROUP, BLACKPINK_GROUP_ORDER, BLACKPINK_MEMBERS, BrowserPage


def test_page_names_the_four_members_of_the_group_photo(live_url: str, browser_page: BrowserPage,
                                                        tmp_path: Path) -> None:
    page = browser_page.page
    page.goto(live_url + "/")
    page.wait_for_selector("#members li img")
    assert page.locator("#members li").all_inner_texts() == BLACKPINK_MEMBERS
    page.wait_for_function("Array.from(document.querySelectorAll('#members img')).every(i => i.complete)")

    page.set_input_files("#photo-input", str(BLACKPINK_GROUP))
    page.wait_for_selector(".face-box >> nth=3")
    boxes = page.locator(".face-box")
    assert boxes.count() == 4
    placed = sorted((box.bounding_box()["x"], box.get_attribute("data-label")) for box in boxes.all())
    assert [label for _, label in placed] == BLACKPINK_GROUP_ORDER
    for box in boxes.all():  # the name is drawn on the photo, over its box
        assert box.locator(".name").inner_text().endswith(box.get_attribute("data-label"))
    bars = page.locator("#faces [role=meter]")
    assert bars.count() == 4
    assert all(0 <= int(bar.get_attribute("aria-valuenow")) <= 100 for bar in bars.all())
    assert re.fullmatch(r"4 faces, \d named\.", page.locator("#status").inner_text())

    photo = page.locator("#photo").bounding_box()
    for box in boxes.all():  # every box lies on the photo
        b = box.bounding_box()
        assert photo["x"] - 1 <= b["x"] and b["x"] + b["width"] <= photo["x"] + photo["width"] + 1

    assert browser_page.screenshot(tmp_path / "serve-page-blackpink.png").stat().st_size > 10_000
    assert browser_page.console_errors == []
    assert browser_page.failed_requests == []
    assert browser_page.broken_images() == []


def test_page_shows_unknown_faces_apart_and_errors_in_one_line(live_url: str, browser_page: BrowserPage,
                                                               tmp_path: Path) -> None:
    page = browser_page.page
    page.route("**/v1/predict", lambda route: route.continue_(url=live_url + "/v1/predict?threshold=1e9"))
    page.goto(live_url + "/")
    page.set_input_files("#photo-input", str(BLACKPINK_GROUP))
    page.wait_for_selector(".face-box >> nth=3")
    assert page.locator(".face-box.unknown").count() == 4
    assert page.locator("#faces li.unknown").all_inner_texts()[0].startswith("unknown")
    grey = page.locator(".face-box.unknown").first.evaluate("b => getComputedStyle(b).borderColor")
    assert grey == "rgb(138, 138, 138)"

    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    page.set_input_files("#photo-input", str(text))
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text() == "notes.txt: not an image file whosthat can read"
    assert page.locator(".face-box").count() == 0
    browser_page.screenshot(tmp_path / "serve-page-error.png")


def test_a_photo_dropped_on_the_page_is_named(live_url: str, browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.goto(live_url + "/")
    dropped = page.evaluate_handle(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "dropped.jpg", { type: "image/jpeg" }));
            return transfer;
        }""", base64.b64encode(BLACKPINK_GROUP.read_bytes()).decode())
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": dropped})
    assert "dragging" in page.locator("#drop-zone").get_attribute("class")
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})
    page.wait_for_selector(".face-box >> nth=3")
    assert sorted(box.get_attribute("data-label") for box in page.locator(".face-box").all()) == BLACKPINK_MEMBERS
    assert page.locator("#photo").get_attribute("alt").endswith("dropped.jpg")
    assert browser_page.console_errors == [] and browser_page.broken_images() == []


def test_members_without_a_photo_show_their_initial(live_url: str, browser_page: BrowserPage) -> None:
    page = browser_page.page
    page.route("**/thumbnail", lambda route: route.fulfill(status=404, body="{}"))
    page.goto(live_url + "/")
    page.wait_for_function("document.querySelectorAll('#members .initial').length === 4")
    assert page.locator("#members .initial").all_inner_texts() == [name[0].upper() for name in BLACKPINK_MEMBERS]
    assert browser_page.broken_images() == []


def test_page_needs_nothing_from_outside(live_url: str) -> None:
    for path in ("/", "/docs"):
        html = httpx.get(live_url + path).text
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), path
        for asset in re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html):
            assert httpx.get(live_url + asset).status_code == 200, asset
