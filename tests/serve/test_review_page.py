"""The review page in headless Chromium on a real loopback server and a real index of real photos: every action
done with the mouse or the keys, then checked through the index (its corrections, `find`, the learned model)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import BrowserPage
from serve.conftest import served
from serve.review_index import GROUP, review_index, review_pristine
from serve.test_review_api import members_queue
from whosthat.collection import Index
from whosthat.models.model import Model
from whosthat.serve import create_app

__all__ = ["review_index", "review_pristine"]
HOSTILE = '<script>alert("x")'


@pytest.fixture
def review_url(blackpink_model: Model, review_index: Index, tmp_path: Path) -> Iterator[str]:
    """The review page's server for this test's index, on loopback in a thread."""
    app = create_app(blackpink_model, index=review_index.directory, learned=tmp_path / "learned")
    with served(app) as url:
        yield f"{url}/review"


def said(opened: Index) -> list[tuple[str, str, int, str, str]]:
    """The index's corrections as (photo path, kind, face, name), oldest first."""
    rows = opened.corrections()
    paths = opened.photo_paths({r.content_hash for r in rows})
    return [(paths[r.content_hash], r.kind, r.face, r.name) for r in rows]


def card(browser_page: BrowserPage, n: int) -> tuple[str, int, str]:
    """The photo path, face number and name of the n-th face of the queue."""
    item = browser_page.page.locator("#queue li").nth(n)
    path = item.locator("img").get_attribute("alt").split(" of ", 1)[1]
    return path, int(item.get_attribute("data-face")), item.locator(".name").inner_text()


def done(browser_page: BrowserPage, words: str, actions: int) -> None:
    """Wait until the page has shown that an action is done (and read everything again) and lists `actions`."""
    page = browser_page.page
    page.wait_for_function("([w, n]) => document.getElementById('status').textContent.startsWith(w) && "
                           "document.querySelectorAll('#history li').length === n", arg=[words, actions])


def test_members_faces_are_confirmed_rejected_moved_and_undone(review_url: str, browser_page: BrowserPage,
                                                               review_index: Index, tmp_path: Path) -> None:
    page = browser_page.page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(review_url)
    page.wait_for_selector("#queue li")
    shown = page.locator("#queue li").evaluate_all("items => items.map(i => [i.dataset.photo, +i.dataset.face])")
    assert [tuple(f) for f in shown] == members_queue(review_index) and len(shown) >= 8

    first = card(browser_page, 0)
    page.locator("#queue li").first.locator(".confirm").click()
    done(browser_page, "Done: confirm", 1)
    assert said(review_index) == [(first[0], "confirm", first[1], first[2])]
    assert card(browser_page, 0) != first  # a decided face leaves the queue

    page.keyboard.press("j")
    assert "current" in page.locator("#queue li").nth(1).get_attribute("class")
    second = card(browser_page, 1)
    page.keyboard.press("x")
    done(browser_page, "Done: not", 2)
    assert said(review_index)[-1] == (second[0], "not", second[1], second[2])

    third = card(browser_page, 0)
    other = next(name for name in ("jennie_kim", "lisa_manoban") if name != third[2])
    page.locator("#queue li").first.locator(".move-to").select_option(other)
    page.locator("#queue li").first.locator(".move").click()
    done(browser_page, "Done: not", 3)
    assert said(review_index)[-2:] == [(third[0], "not", third[1], third[2]), (third[0], "confirm", third[1], other)]
    assert third[0] in [hit.name for hit in review_index.find(other, limit=None)]

    fourth = card(browser_page, 0)
    first_card = page.locator("#queue li").first
    first_card.locator(".move-to").select_option(label="a new person…")
    first_card.locator(".move").click()  # no name given
    page.wait_for_selector("#error:not([hidden])")
    assert page.locator("#error").inner_text() == "a name must not be empty" and len(said(review_index)) == 4
    first_card.locator(".new-name").fill(HOSTILE)
    first_card.locator(".move").click()
    done(browser_page, "Done: not", 4)
    assert said(review_index)[-1] == (fourth[0], "confirm", fourth[1], HOSTILE)
    assert page.locator("#history li").first.inner_text().startswith(f"not {fourth[2]}, confirm {HOSTILE} (1 face)")
    assert page.locator("script").count() == 1 and dialogs == []

    fifth = card(browser_page, 0)
    page.locator("#queue li").first.locator(".move-to").select_option(label="a stranger")
    page.locator("#queue li").first.locator(".move").click()
    done(browser_page, "Done: stranger", 5)
    assert said(review_index)[-1] == (fifth[0], "stranger", fifth[1], "")
    page.keyboard.press("u")
    done(browser_page, "Undone: stranger", 4)
    assert len(said(review_index)) == 6 and card(browser_page, 0) == fifth

    page.locator("#queue li img").first.click()
    page.wait_for_selector("#photo-view:not([hidden]) .face-box")
    assert page.locator("#photo-path").inner_text() == fifth[0]
    boxes = page.locator("#photo-view .face-box")
    faces = Index(review_index.directory).store.photos(["path", "faces"])
    assert boxes.count() == dict(zip(faces["path"].to_pylist(), faces["faces"].to_pylist()))[fifth[0]]
    assert page.locator("#photo-view .face-box.chosen .name").inner_text() == fifth[2]
    page.wait_for_function("document.getElementById('photo').complete")
    browser_page.screenshot(tmp_path / "review-members.png")
    refused = "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    assert browser_page.console_errors == [refused] and browser_page.broken_images() == []


def test_new_people_are_split_merged_named_hidden_and_learned(review_url: str, browser_page: BrowserPage,
                                                              review_index: Index, tmp_path: Path) -> None:
    page = browser_page.page
    page.goto(review_url)
    page.click("#tab-people")
    page.wait_for_selector(".group >> nth=1")
    assert page.locator(".group").count() == 2
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    browser_page.screenshot(tmp_path / "review-groups.png")

    def group(who: str):
        return page.locator(".group", has=page.locator(f"img[alt*='/{who}/']"))

    mindy = group("mindy_kaling")
    split = mindy.locator(".face-pick").first
    split_face = (mindy.locator("img").first.get_attribute("alt").split(" of ", 1)[1],
                  int(split.get_attribute("data-face")))
    split.check()
    mindy.locator(".split-stranger").click()
    done(browser_page, "Done: stranger", 1)
    assert said(review_index) == [(split_face[0], "stranger", split_face[1], "")]
    assert group("mindy_kaling").locator("img").count() >= 2 and split_face[0] not in \
        group("mindy_kaling").locator("img").evaluate_all("images => images.map(i => i.alt).join()")

    for row in page.locator(".group .merge-pick").all():
        row.check()
    page.fill("#merge-name", "both")
    page.click("#merge")
    done(browser_page, "Done: confirm both", 2)
    assert {kind_name for *_, kind_name in said(review_index)[1:]} == {"both"}
    assert page.locator(".group").count() == 0
    page.click("#undo")
    done(browser_page, "Undone: confirm both", 1)
    page.wait_for_selector(".group >> nth=1")

    ben = group("ben_afflek")
    ben_faces = ben.locator("img").count()
    ben.locator(".group-name").fill("ben")
    ben.locator(".name-group").click()
    done(browser_page, "Done: confirm ben", 2)
    group("mindy_kaling").locator(".hide-group").click()
    done(browser_page, "Done: stranger", 3)
    assert page.locator(".group").count() == 0
    rows = said(review_index)
    assert [r for r in rows if r[1] == "confirm"] and {r[3] for r in rows if r[1] == "confirm"} == {"ben"}
    assert len([r for r in rows if r[1] == "confirm"]) == ben_faces
    assert all("mindy_kaling" in r[0] for r in rows if r[1] == "stranger")
    assert {hit.name.split("/")[1] for hit in review_index.find("ben", limit=None)} == {"ben_afflek"}

    page.click("#learn")
    page.wait_for_function("document.getElementById('learned').textContent.startsWith('Learned')")
    learned = page.locator("#learned").inner_text()
    assert "(ben " in learned and "New members: ben." in learned
    models = list((tmp_path / "learned").glob("*.wt"))
    assert len(models) == 1 and str(models[0]) in learned
    assert "ben" in Index(review_index.directory).members
    browser_page.screenshot(tmp_path / "review-people.png")
    assert browser_page.console_errors == [] and browser_page.broken_images() == []


def test_a_face_boxed_with_the_mouse_is_added_and_named(review_url: str, browser_page: BrowserPage,
                                                        review_index: Index) -> None:
    page = browser_page.page
    page.goto(review_url)
    page.locator(f'#queue li img[alt$="{GROUP}"]').first.click()
    page.wait_for_selector("#photo-view:not([hidden]) .face-box")
    page.wait_for_function("document.getElementById('photo').complete")
    count = page.locator("#photo-view .face-box").count()
    shown = page.locator("#photo").bounding_box()
    first = page.locator("#photo-view .face-box").nth(1).bounding_box()

    def drag(x: float, y: float, side: float) -> None:
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + side / 2, y + side / 2, steps=4)
        page.mouse.move(x + side, y + side, steps=4)
        page.mouse.up()

    drag(first["x"] + 1, first["y"] + 1, min(first["width"], first["height"]) - 2)
    page.fill("#add-name", "jisoo_kim")
    page.click("#add")
    page.wait_for_selector("#error:not([hidden])")
    assert "that face is already face 1; correct it instead" in page.locator("#error").inner_text()
    side = shown["width"] / 12
    drag(shown["x"] + 2, shown["y"] + shown["height"] - side - 2, side)
    page.fill("#add-name", HOSTILE)
    page.click("#add")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Added face')")
    assert page.locator("#photo-view .face-box").count() == count + 1
    assert page.locator("#photo-view .face-box.chosen .name").inner_text() == HOSTILE
    assert page.locator("script").count() == 1
    assert said(review_index) == [(GROUP, "confirm", count, HOSTILE)]


def test_the_review_page_needs_nothing_from_outside(review_url: str) -> None:
    html = httpx.get(review_url).text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assets = re.findall(r"""(?:src|href)=["']?(/[^"' >]+)""", html)
    assert "/static/review.js" in assets and "/static/review.css" in assets
    for asset in assets:
        assert httpx.get(review_url.removesuffix("/review") + asset).status_code == 200, asset
