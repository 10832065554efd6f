"""The REST API on the real blackpink model and real photos: answers, options and every kind of bad input."""

from __future__ import annotations

import base64
import copy
import io
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import BLACKPINK, BLACKPINK_GROUP, BLACKPINK_GROUP_ORDER, BLACKPINK_MEMBERS, images_of
from whosthat.models.model import Model
from whosthat.serve import Limits, create_app


def left_to_right(answer: dict) -> list[str]:
    return [face["label"] for face in sorted(answer["faces"], key=lambda face: face["box"][0])]


def assert_error(response: httpx.Response, status: int, *words: str) -> None:
    """The status, and a JSON body holding one line that says what went wrong."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"]
    for word in words:
        assert word in body["error"]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's calling card)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


def test_group_photo_names_the_four_members_left_to_right(client: TestClient, blackpink_model: Model) -> None:
    with BLACKPINK_GROUP.open("rb") as photo:
        response = client.post("/v1/predict", files={"file": ("blackpink.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    answer = response.json()
    width, height = Image.open(BLACKPINK_GROUP).size
    assert (answer["image"], answer["width"], answer["height"], answer["error"]) == ("blackpink.jpg", width, height,
                                                                                     None)
    assert left_to_right(answer) == BLACKPINK_GROUP_ORDER
    expected = blackpink_model.predict(BLACKPINK_GROUP).to_dict()
    assert answer["faces"] == expected["faces"]  # the JSON of `whosthat predict --json`
    assert answer["annotated"] is None


@pytest.mark.parametrize("content_type", ["image/jpeg", "application/octet-stream",
                                          "application/x-www-form-urlencoded"])  # what curl --data-binary sends
def test_raw_body_gives_the_same_faces(client: TestClient, content_type: str) -> None:
    data = BLACKPINK_GROUP.read_bytes()
    raw = client.post("/v1/predict", content=data, headers={"content-type": content_type})
    form = client.post("/v1/predict", files={"file": ("group.jpg", data, "image/jpeg")})
    assert raw.status_code == 200 and form.status_code == 200
    assert raw.json()["image"] == "upload"
    assert raw.json()["faces"] == form.json()["faces"]


def test_threshold_moves_the_stranger_test(client: TestClient) -> None:
    data = BLACKPINK_GROUP.read_bytes()
    strict = client.post("/v1/predict", params={"threshold": 1e9}, content=data).json()
    lenient = client.post("/v1/predict", params={"threshold": -1e9}, content=data).json()
    assert [face["label"] for face in strict["faces"]] == ["unknown"] * 4
    assert sorted(face["label"] for face in lenient["faces"]) == sorted(BLACKPINK_MEMBERS)


def test_annotate_returns_the_photo_with_names_as_a_jpeg_data_url(client: TestClient) -> None:
    answer = client.post("/v1/predict", params={"annotate": "true"}, content=BLACKPINK_GROUP.read_bytes()).json()
    prefix = "data:image/jpeg;base64,"
    assert answer["annotated"].startswith(prefix)
    annotated = Image.open(io.BytesIO(base64.b64decode(answer["annotated"][len(prefix):])))
    assert annotated.format == "JPEG" and annotated.size == (answer["width"], answer["height"])
    original = Image.open(BLACKPINK_GROUP).convert("RGB")
    assert annotated.convert("RGB").tobytes() != original.tobytes()


@pytest.mark.parametrize("body, status, words", [
    (b"", 422, ["empty request body"]),
    (b"just some text, not a picture", 415, ["not an image"]),
    (BLACKPINK_GROUP.read_bytes()[:20000] if BLACKPINK_GROUP.exists() else b"", 415, ["truncated"]),
    (png_claiming(100_000, 100_000), 413, ["decompression bomb"]),
], ids=["empty", "text", "truncated", "bomb"])
def test_unreadable_bodies_are_answered(client: TestClient, body: bytes, status: int, words: list[str]) -> None:
    assert_error(client.post("/v1/predict", content=body, headers={"content-type": "application/octet-stream"}),
                 status, *words)


def test_form_mistakes_are_422(client: TestClient) -> None:
    data = BLACKPINK_GROUP.read_bytes()
    assert_error(client.post("/v1/predict", files={"photo": ("a.jpg", data, "image/jpeg")}), 422, "'file'")
    assert_error(client.post("/v1/predict", files={"file": ("a.jpg", b"", "image/jpeg")}), 422, "a.jpg", "empty")
    assert_error(client.post("/v1/predict", data={"file": "not a file"}), 415, "not an image")
    assert_error(client.post("/v1/predict", data={"file": "not a file"}, files={"other": ("a.txt", b"x")}), 422,
                 "'file'")
    assert_error(client.post("/v1/predict", content=b"--x\r\nbroken", headers={
        "content-type": "multipart/form-data; boundary=x"}), 422)


@pytest.mark.parametrize("threshold", ["abc", "inf", "nan"])
def test_bad_threshold_is_422(client: TestClient, threshold: str) -> None:
    assert_error(client.post("/v1/predict", params={"threshold": threshold}, content=b"x"), 422, "threshold")


def test_limits_are_configurable_and_enforced_while_reading(blackpink_model: Model) -> None:
    data = BLACKPINK_GROUP.read_bytes()
    small = create_app(blackpink_model, Limits(max_bytes=len(data) - 1, max_pixels=10_000))
    with TestClient(small) as client:
        assert_error(client.post("/v1/predict", content=data), 413, f"{len(data) - 1:,} bytes")
        chunks = (data[i:i + 4096] for i in range(0, len(data), 4096))  # chunked: no content-length to trust
        assert_error(client.post("/v1/predict", content=chunks), 413, "bytes")
        assert_error(client.post("/v1/predict", files={"file": ("big.jpg", data, "image/jpeg")}), 413)
        assert_error(client.post("/v1/predict", content=data[:len(data) // 2] + b"\0"), 413, "10,000")


def test_model_lists_members_with_thumbnails(client: TestClient, blackpink_model: Model) -> None:
    info = client.get("/v1/model").json()
    assert info["classes"] == BLACKPINK_MEMBERS == [m["name"] for m in info["members"]]
    assert info["threshold"] == pytest.approx(blackpink_model.threshold)
    assert info["pipeline"]["embedder"]["name"] == "facenet"
    for member in info["members"]:
        response = client.get(member["thumbnail"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(response.content)).size == (160, 160)
    assert_error(client.get("/v1/members/nobody/thumbnail"), 404, "nobody")
    assert client.get("/healthz").json() == {"status": "ok", "classes": 4}


def test_model_moved_away_from_its_photos_has_no_thumbnails(blackpink_model: Model, tmp_path: Path) -> None:
    moved = copy.copy(blackpink_model)
    record = blackpink_model.training
    moved.training = replace(record, split=replace(record.split, root=str(tmp_path / "gone")))
    with TestClient(create_app(moved)) as client:
        assert all(member["thumbnail"] is None for member in client.get("/v1/model").json()["members"])
        assert_error(client.get("/v1/members/jisoo_kim/thumbnail"), 404, "jisoo_kim")


def test_unknown_paths_and_methods_answer_in_the_error_format(client: TestClient) -> None:
    assert_error(client.get("/v1/nothing"), 404)
    assert_error(client.get("/v1/predict"), 405)


def test_real_server_answers_concurrent_clients_alike(live_url: str) -> None:
    photos = [BLACKPINK_GROUP.read_bytes()] * 6

    def post(data: bytes) -> dict:
        response = httpx.post(f"{live_url}/v1/predict", content=data, timeout=120)
        response.raise_for_status()
        return response.json()

    with ThreadPoolExecutor(len(photos)) as pool:
        answers = list(pool.map(post, photos))
    assert all(answer == answers[0] for answer in answers)
    assert left_to_right(answers[0]) == BLACKPINK_GROUP_ORDER


def test_real_server_refuses_an_oversized_body_and_goes_on(live_url: str) -> None:
    big = bytes(Limits().max_bytes + 1)
    assert_error(httpx.post(f"{live_url}/v1/predict", content=big, timeout=60), 413, "bytes")
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))  # no content-length: counted as it comes
    assert_error(httpx.post(f"{live_url}/v1/predict", content=chunks, timeout=60), 413, "bytes")
    assert httpx.get(f"{live_url}/healthz").status_code == 200


def test_a_model_whose_split_names_paths_outside_its_folder_shows_none_of_them(blackpink_model: Model,
                                                                             tmp_path: Path) -> None:
    """The split's paths are names read from the model file: one that leads outside the training folder is
    never opened, even where a photo of that member lies there."""
    outside = tmp_path / "jisoo_kim" / "secret.jpg"
    outside.parent.mkdir()
    outside.write_bytes(images_of(BLACKPINK / "jisoo_kim")[0].read_bytes())
    hostile = copy.copy(blackpink_model)
    record = blackpink_model.training
    train = (f"jisoo_kim/../../../{outside.relative_to(tmp_path)}",)
    root = tmp_path / "training" / "folder"
    (root / "jisoo_kim").mkdir(parents=True)  # so that the system can walk up from it
    hostile.training = replace(record, split=replace(record.split, root=str(root),
                                                     split=replace(record.split.split, train=train)))
    with TestClient(create_app(hostile)) as client:
        assert_error(client.get("/v1/members/jisoo_kim/thumbnail"), 404, "jisoo_kim")
