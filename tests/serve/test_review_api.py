"""The /v1/index/review routes on a real index of real photos: the queue, people, photos and crops; every action
checked through the index afterwards; undo, history, learn; and every kind of bad request as one JSON line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from PIL import Image
from schemathesis.specs.openapi.checks import positive_data_acceptance

from conftest import BLACKPINK_MEMBERS
from serve.review_index import GROUP, review_index, review_pristine
from serve.test_api import assert_error
from whosthat.collection import Index
from whosthat.collection.lock import IndexLock
from whosthat.models.model import Model
from whosthat.serve import create_app, review_routes

__all__ = ["review_index", "review_pristine"]
REVIEW = "/v1/index/review"
#: Examples per review operation in the schemathesis run.
EXAMPLES = 10


@pytest.fixture
def client(blackpink_model: Model, review_index: Index, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(blackpink_model, index=review_index.directory, learned=tmp_path / "learned")) as test:
        yield test


def said(opened: Index) -> list[tuple[int, str, int, str, str]]:
    """The index's corrections as (action, photo path, face, kind, name)."""
    rows = opened.corrections()
    paths = opened.photo_paths({r.content_hash for r in rows})
    return [(r.action, paths[r.content_hash], r.face, r.kind, r.name) for r in rows]


def members_queue(opened: Index) -> list[tuple[str, int]]:
    """The faces of `Index.review_queue` named as members, in its order."""
    return [(item.content_hash, item.face) for item in opened.review_queue(None) if item.name != "unknown"]


def test_the_queue_is_members_faces_most_telling_first_in_pages(client: TestClient, review_index: Index) -> None:
    whole = client.get(f"{REVIEW}/faces", params={"limit": 500}).json()
    faces = whole["faces"]
    assert whole["members"] == BLACKPINK_MEMBERS and whole["total"] == len(faces) >= 8
    assert [(f["photo"], f["face"]) for f in faces] == members_queue(review_index)
    assert all(f["label"] in BLACKPINK_MEMBERS and not f["corrected"] and f["reason"] for f in faces)
    page = client.get(f"{REVIEW}/faces", params={"offset": 2, "limit": 3}).json()
    assert [(f["photo"], f["face"]) for f in page["faces"]] == [(f["photo"], f["face"]) for f in faces[2:5]]
    lisa = client.get(f"{REVIEW}/faces", params={"name": "lisa_manoban"}).json()["faces"]
    assert lisa and {f["label"] for f in lisa} == {"lisa_manoban"}
    crop = client.get(faces[0]["crop"])
    assert crop.status_code == 200 and Image.open(io.BytesIO(crop.content)).size == (160, 160)

    first = faces[0]
    assert client.post(f"{REVIEW}/corrections", json={"kind": "confirm", "name": first["label"], "faces": [
        {"photo": first["photo"], "face": first["face"]}]}).status_code == 200
    after = client.get(f"{REVIEW}/faces", params={"limit": 500}).json()
    assert after["total"] == whole["total"] - 1
    assert sorted((f["photo"], f["face"]) for f in after["faces"]) == sorted((f["photo"], f["face"]) for f in faces[1:])


def test_a_photo_has_every_face_named_and_an_image(client: TestClient, review_index: Index) -> None:
    content_hash = next(h for h, p in review_index.photo_paths(_hashes(review_index)).items() if p == GROUP)
    shown = client.get(f"{REVIEW}/photos/{content_hash}").json()
    assert shown["path"] == GROUP and len(shown["faces"]) == 4
    assert sorted(f["label"] for f in shown["faces"]) == BLACKPINK_MEMBERS
    assert all(0 <= f["box"][0] < f["box"][2] <= shown["width"] for f in shown["faces"])
    image = Image.open(io.BytesIO(client.get(shown["image"]).content))
    assert max(image.size) == min(800, max(shown["width"], shown["height"]))


def _hashes(opened: Index) -> set[str]:
    return set(opened.store.photos(["content_hash"])["content_hash"].to_pylist())


def test_every_action_is_a_correction_in_the_index_and_undo_takes_one_back(client: TestClient,
                                                                             review_index: Index) -> None:
    content_hash = next(h for h, p in review_index.photo_paths(_hashes(review_index)).items() if p == GROUP)
    faces = {f["face"]: f["label"] for f in client.get(f"{REVIEW}/photos/{content_hash}").json()["faces"]}

    def post(kind: str, numbers: list[int], name: str | None = None) -> dict:
        answer = client.post(f"{REVIEW}/corrections", json={
            "kind": kind, "name": name, "faces": [{"photo": content_hash, "face": n} for n in numbers]})
        assert answer.status_code == 200, answer.text
        return answer.json()

    post("confirm", [0], faces[0])
    moved = post("move", [1], "somebody_new")
    assert moved["said"] == f"not {faces[1]}, confirm somebody_new (1 face)"
    post("not", [2], faces[2])
    post("stranger", [3])
    assert said(review_index) == [(1, GROUP, 0, "confirm", faces[0]), (2, GROUP, 1, "not", faces[1]),
                                  (2, GROUP, 1, "confirm", "somebody_new"), (3, GROUP, 2, "not", faces[2]),
                                  (4, GROUP, 3, "stranger", "")]
    assert [h.name for h in review_index.find("somebody_new")] == [GROUP]
    named = {f["face"]: (f["label"], f["corrected"]) for f in
             client.get(f"{REVIEW}/photos/{content_hash}").json()["faces"]}
    assert named == {0: (faces[0], True), 1: ("somebody_new", True), 2: ("unknown", True), 3: ("unknown", True)}

    several = post("confirm", [2, 3], "<script>alert(1)</script>".replace("/", ""))
    assert several["said"] == "confirm <script>alert(1)<script> (2 faces)"
    history = client.get(f"{REVIEW}/history").json()["actions"]
    assert [a["action"] for a in history] == [5, 4, 3, 2, 1] and history[0]["corrections"][0]["path"] == GROUP
    undone = client.post(f"{REVIEW}/undo").json()
    assert undone["action"] == 5 and len(undone["corrections"]) == 2
    assert [row[0] for row in said(review_index)] == [1, 2, 2, 3, 4]
    for _ in range(4):
        assert client.post(f"{REVIEW}/undo").status_code == 200
    assert review_index.corrections() == []
    assert_error(client.post(f"{REVIEW}/undo"), 409, "no correction to undo")


def test_people_are_groups_and_naming_one_confirms_its_faces(client: TestClient, review_index: Index) -> None:
    groups = client.get(f"{REVIEW}/people").json()["groups"]
    assert len(groups) == 2 and all(len(g["faces"]) >= 3 for g in groups)
    folders = [{f["path"].split("/")[1] for f in g["faces"]} for g in groups]
    assert all(len(f) == 1 for f in folders) and {next(iter(f)) for f in folders} == {"ben_afflek", "mindy_kaling"}
    ben = groups[[next(iter(f)) for f in folders].index("ben_afflek")]
    refs = [{"photo": f["photo"], "face": f["face"]} for f in ben["faces"]]
    assert client.post(f"{REVIEW}/corrections", json={"kind": "confirm", "name": "ben", "faces": refs}
                       ).status_code == 200
    assert {row[0] for row in said(review_index)} == {1} and {row[4] for row in said(review_index)} == {"ben"}
    assert len(review_index.find("ben", limit=None)) == len(refs)
    left = client.get(f"{REVIEW}/people").json()["groups"]
    assert [g["person"] for g in left] == [g["person"] for g in groups if g is not ben]


@pytest.mark.parametrize(("name", "words"), [
    ("", "must not be empty"), ("x" * 101, "at most 100 characters"), ("a/b", "slash"),
    ("unknown", "not a person's name"), (None, "must not be empty")])
def test_bad_names_are_refused_in_one_line(client: TestClient, review_index: Index, name: str | None,
                                           words: str) -> None:
    face = client.get(f"{REVIEW}/faces").json()["faces"][0]
    answer = client.post(f"{REVIEW}/corrections", json={
        "kind": "confirm", "name": name, "faces": [{"photo": face["photo"], "face": face["face"]}]})
    assert_error(answer, 422, words)
    assert review_index.corrections() == []


def test_faces_photos_and_a_locked_index_are_answered_in_one_line(client: TestClient, review_index: Index,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    face = client.get(f"{REVIEW}/faces").json()["faces"][0]
    for photo, number, words in [("0" * 64, 0, "no such photo"), (face["photo"], 99, "no face 99")]:
        assert_error(client.post(f"{REVIEW}/corrections", json={
            "kind": "stranger", "faces": [{"photo": photo, "face": number}]}), 404, words)
    assert_error(client.get(f"{REVIEW}/photos/{'0' * 64}"), 404, "no photo of the index")
    assert_error(client.get(f"{REVIEW}/faces/{face['photo']}/99/crop"), 404, "no face 99")
    assert_error(client.get(f"{REVIEW}/photos/not-a-hash"), 422, "content_hash")
    assert_error(client.get(f"{REVIEW}/faces", params={"name": "jenny"}), 422, "no member named 'jenny'")
    assert_error(client.post(f"{REVIEW}/corrections", json={"kind": "confirm", "faces": []}), 422)
    monkeypatch.setattr(review_routes, "WAIT", 0.1)
    with IndexLock(review_index.directory):
        assert_error(client.post(f"{REVIEW}/corrections", json={
            "kind": "stranger", "faces": [{"photo": face["photo"], "face": face["face"]}]}), 409, "another run")
    assert review_index.corrections() == []


def test_a_box_drawn_on_a_photo_is_a_new_face_named_or_refused_in_one_line(client: TestClient,
                                                                           review_index: Index) -> None:
    group = review_index.store.photos(["content_hash"], f"path = '{GROUP}'")["content_hash"][0].as_py()
    photo = client.get(f"{REVIEW}/photos/{group}").json()
    x1, y1, x2, y2 = photo["faces"][1]["box"]
    assert_error(client.post(f"{REVIEW}/photos/{group}/faces", json={"box": [x1, y1, x2 - x1, y2 - y1],
                                                                      "name": "jisoo_kim"}),
                 422, "that face is already face 1; correct it instead")
    assert_error(client.post(f"{REVIEW}/photos/{group}/faces", json={"box": [5, 5, 3, 3], "name": "jisoo_kim"}),
                 422, "too small")
    assert_error(client.post(f"{REVIEW}/photos/{'0' * 64}/faces", json={"box": [5, 5, 40, 40], "name": "x"}), 404)
    assert_error(client.post(f"{REVIEW}/photos/{group}/faces", json={"box": [5, 5, 40], "name": "x"}), 422)
    assert review_index.corrections() == []
    count = len(photo["faces"])
    box = [2.0, photo["height"] - 62.0, 60.0, 60.0]
    added = client.post(f"{REVIEW}/photos/{group}/faces", json={"box": box, "name": "jisoo_kim"})
    assert added.status_code == 200, added.text
    face = added.json()
    assert face["face"] == count and face["label"] == "jisoo_kim" and face["corrected"] and face["path"] == GROUP
    after = client.get(f"{REVIEW}/photos/{group}").json()["faces"]
    assert len(after) == count + 1 and after[:count] == photo["faces"]
    assert after[count]["label"] == "jisoo_kim" and after[count]["corrected"]
    assert said(review_index) == [(1, GROUP, count, "confirm", "jisoo_kim")]
    assert client.get(f"{REVIEW}/faces/{group}/{count}/crop").status_code == 200


def test_learn_needs_corrections_then_names_the_index_with_the_new_model(client: TestClient, review_index: Index,
                                                                        tmp_path: Path) -> None:
    assert_error(client.post(f"{REVIEW}/learn"), 422, "no corrections to learn from")
    groups = client.get(f"{REVIEW}/people").json()["groups"]
    biggest = groups[0]
    refs = [{"photo": f["photo"], "face": f["face"]} for f in biggest["faces"]]
    client.post(f"{REVIEW}/corrections", json={"kind": "confirm", "name": "newcomer", "faces": refs})
    learned = client.post(f"{REVIEW}/learn")
    assert learned.status_code == 200, learned.text
    answer = learned.json()
    assert Path(answer["model_file"]).parent == tmp_path / "learned" and Path(answer["model_file"]).is_file()
    assert answer["confirmed"] == {"newcomer": len(refs)} and answer["new_members"] == ["newcomer"]
    assert "newcomer" in answer["members"] and Index(review_index.directory).members == answer["members"]
    assert "newcomer" in client.get(f"{REVIEW}/faces").json()["members"]
    assert client.get("/v1/index").json()["members"] == answer["members"]


def test_a_page_of_another_site_cannot_change_the_index(client: TestClient, review_index: Index) -> None:
    review_index.stranger(GROUP, 0)
    for path in ("/undo", "/learn"):  # a form posted from elsewhere needs no preflight: the origin refuses it
        assert_error(client.post(REVIEW + path, headers={"Origin": "http://evil.example"}), 403, "another site")
    assert len(review_index.corrections()) == 1
    assert client.post(REVIEW + "/undo", headers={"Origin": "http://testserver"}).status_code == 200


def test_no_request_to_the_review_routes_crashes_the_service(blackpink_model: Model, review_index: Index,
                                                              tmp_path: Path) -> None:
    app = create_app(blackpink_model, index=review_index.directory, learned=tmp_path / "learned")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations() if r.ok().path.startswith(REVIEW)]
    assert len(operations) == 10
    with TestClient(app):
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            check()
