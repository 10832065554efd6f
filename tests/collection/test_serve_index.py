"""`whosthat serve --index`: /v1/index and its find and thumbnails, in-process and on the page in Chromium."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import BLACKPINK_GROUP, BLACKPINK_MEMBERS, BrowserPage
from serve.conftest import served
from whosthat.collection import Index
from whosthat.core.errors import WhosthatError
from whosthat.models.model import Model
from whosthat.serve import create_app

GROUP = f"group/{BLACKPINK_GROUP.name}"


@pytest.fixture(scope="module")
def app(blackpink_model: Model, built: Index):
    return create_app(blackpink_model, index=built.directory)


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def test_index_summary_and_find(client: TestClient, built: Index) -> None:
    summary = client.get("/v1/index").json()
    assert summary["photos"] == built.summary().photos and summary["members"] == BLACKPINK_MEMBERS
    found = client.get("/v1/index/find", params={"name": "jennie_kim", "with": "lisa_manoban"})
    assert found.status_code == 200
    hits = found.json()["hits"]
    assert [h["path"] for h in hits] == [GROUP]
    assert {f["label"] for f in hits[0]["faces"]} == {"jennie_kim", "lisa_manoban"}
    picture = client.get(hits[0]["thumbnail"])
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(picture.content)).size) == 320
    named = client.get("/v1/index/find", params={"name": "rose_park", "limit": 2}).json()["hits"]
    assert 1 <= len(named) <= 2 and all(f["label"] == "rose_park" for h in named for f in h["faces"])
    unsure = client.get("/v1/index/find", params={"unsure": "true", "below": 1}).json()["hits"]
    assert [h["score"] for h in unsure] == sorted(h["score"] for h in unsure)


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/v1/index/find?name=jenny", 422, "no member named 'jenny'"),
    ("/v1/index/find", 422, "say what to find"),
    ("/v1/index/find?with=lisa_manoban", 422, "with goes with name"),
    ("/v1/index/find?name=jennie_kim&limit=0", 422, "limit"),
    ("/v1/index/photos/" + "0" * 64 + "/thumbnail", 404, "no photo of the index"),
    ("/v1/index/photos/..%2F..%2Fetc%2Fpasswd/thumbnail", 404, ""),
])
def test_index_errors_are_one_json_line(client: TestClient, path: str, status: int, words: str) -> None:
    answer = client.get(path)
    assert answer.status_code == status and words in answer.json()["error"]


def test_without_an_index_there_is_no_index_route(blackpink_model: Model, tmp_path: Path) -> None:
    with TestClient(create_app(blackpink_model)) as plain:
        assert plain.get("/v1/index").status_code == 404
    with pytest.raises(WhosthatError, match="not a whosthat index"):
        create_app(blackpink_model, index=tmp_path)


def test_the_served_index_sees_each_run_and_correction(blackpink_model: Model, model_file: Path,
                                                      own_collection: Path, session_cache: Path) -> None:
    """The index is kept open between requests, and opened again once a run or a correction committed to it."""
    from whosthat.collection import index

    index(model_file, own_collection, cache_dir=session_cache)
    with TestClient(create_app(blackpink_model, index=own_collection)) as client:
        before = client.get("/v1/index").json()
        assert client.get("/v1/index").json() == before
        photo = own_collection / "group" / BLACKPINK_GROUP.name
        shutil.copy(photo, own_collection / "again.jpg")
        index(model_file, own_collection, cache_dir=session_cache)
        after = client.get("/v1/index").json()
        assert after["photos"] == before["photos"] + 1 and after["faces"] > before["faces"]
        Index(own_collection).confirm("again.jpg", 0, "somebody_new")  # a face of its content: in every copy
        found = client.get("/v1/index/find", params={"name": "somebody_new"}).json()["hits"]
        assert "again.jpg" in [h["path"] for h in found]
        assert client.get("/v1/index").json()["faces_per_name"]["somebody_new"] == len(found)


@pytest.fixture(scope="module")
def live_url(app) -> Iterator[str]:
    with served(app) as url:
        yield url


def test_page_searches_the_collection(live_url: str, browser_page: BrowserPage, built: Index, tmp_path: Path) -> None:
    expected = [hit.name for hit in built.find(["jisoo_kim", "rose_park"], limit=48)]
    page = browser_page.page
    page.goto(live_url + "/")
    page.wait_for_selector("#collection:not([hidden])")
    page.wait_for_selector("#members li img")
    page.wait_for_function("Array.from(document.querySelectorAll('#members img')).every(i => i.complete)")
    assert "photos" in page.locator("#collection-summary").inner_text()
    page.select_option("#search-name", "jisoo_kim")
    page.select_option("#search-with", "rose_park")
    page.click("#search button")
    page.wait_for_selector("#hits li")
    shown = page.locator("#hits li").all_inner_texts()
    assert GROUP in expected and [text.splitlines()[0] for text in shown] == expected
    page.wait_for_function("Array.from(document.querySelectorAll('#hits img')).every(i => i.complete)")
    assert page.locator("#search-status").inner_text() == f"{len(expected)} photo{'s' if len(expected) > 1 else ''}."
    browser_page.screenshot(tmp_path / "serve-index-search.png")
    assert browser_page.console_errors == [] and browser_page.failed_requests == []
    assert browser_page.broken_images() == []
