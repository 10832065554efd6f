"""Inputs that used to crash a run: a panorama wider than OpenCV warps, a strided image at dlib's door, a NaN
threshold, a path the system refuses, and a served index removed or damaged while the service runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from conftest import BLACKPINK, BLACKPINK_MEMBERS, BLACKPINK_TRAIN_PER_CLASS, images_of
from whosthat.cli import main
from whosthat.collection import index
from whosthat.core.errors import WhosthatError
from whosthat.models.model import Model
from whosthat.serve import create_app
from whosthat.video.track_names import name_tracks
from whosthat.vision.align import crop_box, warp
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders.dlib_resnet import DlibResNet

#: Wider than the SHRT_MAX (32767) pixels `cv2.warpAffine` takes, and under the pixel limit.
PANORAMA = (33000, 1024)


@pytest.fixture(scope="module")
def member_photo(blackpink_model: Model) -> tuple[str, Path]:
    """A held-out photo of one face that the blackpink model names right."""
    for member in BLACKPINK_MEMBERS:
        for path in images_of(BLACKPINK / member)[BLACKPINK_TRAIN_PER_CLASS:][:6]:
            if blackpink_model.predict(path).labels == [member]:
                return member, path
    raise AssertionError("no held-out photo named right")


@pytest.fixture(scope="module")
def panorama(member_photo: tuple[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grey 33000x1024 PNG with the member's photo pasted near its right end, past x = 32767."""
    photo = Image.open(member_photo[1]).convert("RGB")
    photo.thumbnail((900, 900))
    canvas = Image.new("RGB", PANORAMA, (128, 128, 128))
    canvas.paste(photo, (PANORAMA[0] - photo.width - 50, 50))
    path = tmp_path_factory.mktemp("panorama") / "panorama.png"
    canvas.save(path, compress_level=1)
    return path


@pytest.fixture(scope="module")
def model_file(blackpink_model: Model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return blackpink_model.save(tmp_path_factory.mktemp("hostile-model") / "blackpink.wt")


def test_a_face_in_a_panorama_is_named(blackpink_model: Model, member_photo: tuple[str, Path],
                                       panorama: Path) -> None:
    result = blackpink_model.predict(panorama)
    assert (result.width, result.height) == PANORAMA and result.labels == [member_photo[0]]
    assert result[0].box[0] > PANORAMA[0] - 1000


def test_predict_names_the_face_in_a_panorama_beside_other_photos(model_file: Path, member_photo: tuple[str, Path],
                                                                   panorama: Path, capsys: pytest.CaptureFixture
                                                                   ) -> None:
    assert main(["predict", str(model_file), str(panorama), str(member_photo[1]), "--json"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [[f["label"] for f in a["faces"]] for a in answers] == [[member_photo[0]]] * 2


def test_serve_names_the_face_in_a_panorama(blackpink_model: Model, member_photo: tuple[str, Path],
                                            panorama: Path) -> None:
    with TestClient(create_app(blackpink_model)) as client:
        answer = client.post("/v1/predict", content=panorama.read_bytes())
    assert answer.status_code == 200, answer.text
    assert [f["label"] for f in answer.json()["faces"]] == [member_photo[0]]


def test_the_whole_panorama_as_one_chip() -> None:
    image = np.full((PANORAMA[1], PANORAMA[0], 3), 50, np.uint8)
    image[:, 16000:17000] = 250
    chip = crop_box(image, np.array([0, 0, *PANORAMA], np.float32), 224)
    assert chip.shape == (224, 224, 3) and chip[112, 112, 0] > 200 and chip[112, 20, 0] == 50


def test_a_warp_of_a_region_is_the_warp_of_the_whole_image() -> None:
    photo = np.asarray(Image.open(images_of(BLACKPINK / BLACKPINK_MEMBERS[0])[0]).convert("RGB"))
    rng = np.random.default_rng(0)
    for _ in range(100):
        angle, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.05, 4)
        shift = rng.uniform(-2000, 2000, 2)
        matrix = np.array([[scale * np.cos(angle), -scale * np.sin(angle), shift[0]],
                           [scale * np.sin(angle), scale * np.cos(angle), shift[1]]])
        for interpolation, border in [(cv2.INTER_LINEAR, cv2.BORDER_REPLICATE),
                                      (cv2.INTER_LINEAR, cv2.BORDER_CONSTANT)]:
            whole = cv2.warpAffine(photo, matrix, (160, 160), flags=interpolation, borderMode=border)
            assert np.abs(whole.astype(int) - warp(photo, matrix, 160, interpolation, border)).max() <= 1


def test_dlib_takes_a_strided_image(member_photo: tuple[str, Path]) -> None:
    """A view with padded rows, as PyAV gives frames of some widths: the same chips as from a plain copy."""
    photo = np.asarray(Image.open(member_photo[1]).convert("RGB"))
    padded = np.zeros((photo.shape[0], photo.shape[1] + 6, 3), np.uint8)
    padded[:, :photo.shape[1]] = photo
    view = padded[:, :photo.shape[1]]
    assert not view.flags.c_contiguous
    faces = create_detector("yunet").detect(photo)
    dlib = DlibResNet()
    assert np.array_equal(np.stack(dlib.chips(view, faces)), np.stack(dlib.chips(photo, faces)))


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN", "x"])
def test_a_threshold_that_is_not_a_finite_number_is_refused(value: str, capsys: pytest.CaptureFixture) -> None:
    for command in (["predict", "m.wt", "a.jpg"], ["evaluate", "m.wt", "photos"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, f"--threshold={value}"])
        assert exited.value.code == 2
        assert capsys.readouterr().err.strip().endswith(f"argument --threshold: {value} is not a finite number")


def test_the_video_api_refuses_a_nan_threshold(blackpink_model: Model) -> None:
    with pytest.raises(WhosthatError, match="threshold nan is not a finite number"):
        name_tracks(blackpink_model, [], float("nan"))


def test_the_python_api_refuses_a_nan_threshold(blackpink_model: Model, member_photo: tuple[str, Path]) -> None:
    with pytest.raises(WhosthatError, match="threshold nan is not a finite number"):
        blackpink_model.predict(member_photo[1], threshold=float("nan"))


def test_a_name_too_long_is_one_failed_input_and_the_others_go_on(model_file: Path, member_photo: tuple[str, Path],
                                                                  capsys: pytest.CaptureFixture) -> None:
    long_photo, long_video = Path("a" * 300 + ".jpg"), Path("b" * 300 + ".mp4")
    assert main(["predict", str(model_file), str(long_photo), str(long_video), str(member_photo[1]), "--json"]) == 1
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["error"] for a in answers[:2]] == [f"{long_photo}: cannot be read (File name too long)",
                                                 f"{long_video}: cannot be read (File name too long)"]
    assert [f["label"] for f in answers[2]["faces"]] == [member_photo[0]]


def test_an_os_error_on_a_users_path_is_one_line(model_file: Path, member_photo: tuple[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    taken = tmp_path / "a file"
    taken.write_text("")
    for target, reason in [(taken, "File exists"), (taken / "inside", "Not a directory")]:
        assert main(["predict", str(model_file), str(member_photo[1]), "--annotate", str(target)]) == 2
        assert capsys.readouterr().err == f"whosthat: error: {target}: {reason}\n"


@pytest.fixture
def served_index(blackpink_model: Model, model_file: Path, member_photo: tuple[str, Path], tmp_path: Path,
                 session_cache: Path) -> Iterator[tuple[TestClient, Path]]:
    """A client of the service with --index on a two-photo collection of its own, which the test may damage."""
    collection = tmp_path / "photos"
    collection.mkdir()
    for path in [member_photo[1], images_of(BLACKPINK / BLACKPINK_MEMBERS[1])[-1]]:
        shutil.copy(path, collection / path.name)
    built = index(model_file, collection, cache_dir=session_cache)
    app = create_app(blackpink_model, index=built.directory)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/v1/index").status_code == 200
        yield client, built.directory


def _json_error(answer: object) -> tuple[int, str]:
    status, body = answer.status_code, answer.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and "\n" not in body["error"], body
    return status, body["error"]


def test_a_served_index_removed_meanwhile_is_a_json_error(served_index: tuple[TestClient, Path],
                                                          member_photo: tuple[str, Path]) -> None:
    client, directory = served_index
    shutil.rmtree(directory)
    for path in ["/v1/index", f"/v1/index/find?name={member_photo[0]}", "/v1/index/photos/" + "0" * 64 + "/thumbnail"]:
        status, message = _json_error(client.get(path))
        assert status == 503 and str(directory) in message, (path, message)


def test_a_served_index_with_truncated_tables_is_a_json_error(served_index: tuple[TestClient, Path],
                                                              member_photo: tuple[str, Path]) -> None:
    client, directory = served_index
    tables = sorted(p for p in directory.rglob("*.lance") if p.is_file())
    assert tables
    for table in tables:
        data = table.read_bytes()
        table.write_bytes(data[:len(data) // 2])
    for path in ["/v1/index", f"/v1/index/find?name={member_photo[0]}"]:
        status, _ = _json_error(client.get(path))
        assert status in (500, 503), path


def test_an_unexpected_error_is_a_json_500(blackpink_model: Model) -> None:
    app = create_app(blackpink_model)

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug\nover two lines")

    with TestClient(app, raise_server_exceptions=False) as client:
        assert _json_error(client.get("/broken")) == (500, "internal error (RuntimeError: a bug over two lines)")
