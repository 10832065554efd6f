"""The `arcface` embedder without InsightFace's weights: small PyTorch networks with the same contract as
theirs ((N, 3, 112, 112) float in, (N, 512) out), exported to ONNX here, run on real photos."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import whosthat
from conftest import CELEBRITY5, images_of, link_tree, require
from whosthat.cli import build_parser
from whosthat.core.errors import MissingWeightsError, ModelFileError, WhosthatError
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.vision.cache import EmbeddingCache, content_hash
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import EMBEDDERS, create_embedder, embedder_from_spec, parse_spec
from whosthat.vision.embedders.arcface import ENVIRONMENT, insightface_template, similarity_transform
from whosthat.vision.embedders.base import normalise
from whosthat.vision.embedders.spec import SpecPart, made_for_faces, spec_names
from whosthat.vision.extract import Extractor
from whosthat.vision.face import Face
from whosthat.vision.images import load_image
from whosthat.vision.weights import YUNET

#: InsightFace's `arcface_dst` (insightface/utils/face_align.py), written out: where the five landmarks land.
ARCFACE_DST = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
                        [70.7299, 92.2041]])


class TinyRecognizer(torch.nn.Module):
    """The contract of InsightFace's recognition models: (N, 3, 112, 112) float in, (N, 512) vectors out.
    Random weights: it sees where things are in the chip (and left from right), it recognises nobody."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 5, stride=4, padding=2), torch.nn.ReLU(),
            torch.nn.Conv2d(8, 16, 3, stride=2, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(7))
        self.embedding = torch.nn.Linear(16 * 7 * 7, 512)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embedding(self.features(x).flatten(1))


class NormalisingInside(torch.nn.Module):
    """A network that subtracts and scales its raw 0-255 input itself, as InsightFace's MXNet conversions do."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - 127.5) * (1 / 127.5))


def export(net: torch.nn.Module, path: Path, dynamic_batch: bool = True) -> Path:
    """The network as an ONNX file with InsightFace's input name (batch size free unless told otherwise)."""
    axes = {"input.1": {0: "None"}, "embedding": {0: "None"}} if dynamic_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter, which needs no onnxscript
        torch.onnx.export(net.eval(), torch.zeros(1, 3, 112, 112), str(path), dynamo=False, input_names=["input.1"],
                          output_names=["embedding"], dynamic_axes=axes)
    return path


@pytest.fixture(scope="module")
def networks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """ONNX files: `a` and `b` (other weights), `fixed` (a's weights, batch of 1), `inside` (a's weights,
    normalising inside the graph under MXNet's node names), and the torch network `a` for reference."""
    import onnx

    folder = tmp_path_factory.mktemp("arcface-networks")
    files = {"a": export(TinyRecognizer(0), folder / "w600k_r50.onnx"),
             "b": export(TinyRecognizer(1), folder / "other.onnx"),
             "fixed": export(TinyRecognizer(0), folder / "fixed.onnx", dynamic_batch=False)}
    inside = onnx.load(export(NormalisingInside(TinyRecognizer(0)), folder / "inside.onnx"))
    for node in inside.graph.node[:8]:
        node.name = {"Sub": "_minusscalar0", "Mul": "_mulscalar0"}.get(node.op_type, node.name)
    onnx.save(inside, str(folder / "inside.onnx"))
    files["inside"] = folder / "inside.onnx"
    return files


@pytest.fixture(autouse=True)
def no_user_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home without ~/.insightface and no $WHOSTHAT_ARCFACE: the user's own files play no part."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv(ENVIRONMENT, raising=False)
    return home


@pytest.fixture(scope="module")
def photos() -> list[tuple[np.ndarray, list[Face]]]:
    """Two celebrity5 photos of each of three people and YuNet's faces in them."""
    require(CELEBRITY5)
    detector = create_detector("yunet")
    found = []
    for person in ("ben_afflek", "elton_john", "madonna"):
        for path in images_of(CELEBRITY5 / "train" / person)[:2]:
            image = load_image(path)
            faces = detector.detect(image)[:1]
            assert faces and faces[0].landmarks is not None, path
            found.append((image, faces))
    return found


def _reference(net: torch.nn.Module, chips: list[np.ndarray]) -> np.ndarray:
    """What InsightFace's ArcFaceONNX.get_feat computes, on the torch network: its chips are BGR (cv2.imread)
    and `blobFromImages(..., 1 / 127.5, (112, 112), (127.5,) * 3, swapRB=True)` makes the input."""
    bgr = [np.ascontiguousarray(c[:, :, ::-1]) for c in chips]
    blob = cv2.dnn.blobFromImages(bgr, 1.0 / 127.5, (112, 112), (127.5, 127.5, 127.5), swapRB=True)
    with torch.inference_mode():
        return normalise(net.eval()(torch.from_numpy(blob)).numpy())


# --------------------------------------------------------------------------------------------- loading

def test_loads_and_embeds_as_insightface_feeds_its_models(networks, photos):
    embedder = create_embedder("arcface", path=networks["a"])
    assert embedder.dim == 512 and embedder.graph.size == 112 and (embedder.graph.mean, embedder.graph.std) == (
        127.5, 127.5)
    chips = [chip for image, faces in photos for chip in embedder.chips(image, faces)]
    assert all(c.shape == (112, 112, 3) and c.dtype == np.uint8 for c in chips)
    vectors = embedder.embed(chips)
    assert vectors.shape == (len(chips), 512) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors, _reference(TinyRecognizer(0), chips), atol=1e-5)
    assert embedder.embed([]).shape == (0, 512)


def test_a_graph_that_normalises_itself_gets_the_raw_pixels(networks, photos):
    inside = create_embedder("arcface", path=networks["inside"])
    assert (inside.graph.mean, inside.graph.std) == (0.0, 1.0)
    chips = inside.chips(*photos[0])
    np.testing.assert_allclose(inside.embed(chips), create_embedder("arcface", path=networks["a"]).embed(chips),
                               atol=1e-5)


def test_a_pack_folder_and_the_places_it_is_looked_for(networks, no_user_models, monkeypatch):
    pack = no_user_models / ".insightface" / "models" / "buffalo_l"
    pack.mkdir(parents=True)
    shutil.copy(YUNET.path(), pack / "det_10g.onnx")  # a detector: the pack's other files are not recognition models
    shutil.copy(networks["a"], pack / "w600k_r50.onnx")
    found = create_embedder("arcface")
    assert found.path == pack / "w600k_r50.onnx"
    assert create_embedder("arcface", path=pack).path == pack / "w600k_r50.onnx"
    monkeypatch.setenv(ENVIRONMENT, str(networks["b"]))
    assert create_embedder("arcface").path == networks["b"]  # $WHOSTHAT_ARCFACE before the packs
    assert create_embedder("arcface", path=networks["a"]).path == networks["a"]  # the path given before both


# ------------------------------------------------------------------------------------------- alignment

def _gaussian_spot(shape: tuple[int, int], centre: np.ndarray, sigma: float) -> np.ndarray:
    rows, cols = np.mgrid[:shape[0], :shape[1]]
    spot = np.exp(-((cols - centre[0]) ** 2 + (rows - centre[1]) ** 2) / (2 * sigma ** 2))
    return np.repeat((spot * 255).round().astype(np.uint8)[:, :, None], 3, axis=2)


def test_the_landmarks_land_on_insightfaces_template(networks):
    """A face turned 15 degrees and 1.7 times the template's size: a spot drawn at each of its landmarks
    comes out of the chip where InsightFace puts that landmark."""
    embedder = create_embedder("arcface", path=networks["a"])
    angle, scale, shift = np.radians(15), 1.7, np.array([140.0, 90.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = ARCFACE_DST @ rotation.T + shift
    face = Face(box=np.array([120, 80, 330, 300]), landmarks=landmarks, score=0.9)
    for landmark, expected in zip(landmarks, ARCFACE_DST):
        chip = embedder.chips(_gaussian_spot((360, 400), landmark, sigma=4.0), [face])[0].astype(np.float64)[..., 0]
        rows, cols = np.mgrid[:112, :112]
        centroid = np.array([(chip * cols).sum(), (chip * rows).sum()]) / chip.sum()
        np.testing.assert_allclose(centroid, expected, atol=0.3)


def test_outside_the_photo_is_black(networks):
    """InsightFace's norm_crop fills what lies outside the photo with black (borderValue 0)."""
    image = np.full((200, 200, 3), 200, np.uint8)
    face = Face(box=np.array([0, 0, 60, 60]), landmarks=ARCFACE_DST * 0.5 - [20, 25], score=0.9)
    chip = create_embedder("arcface", path=networks["a"]).chips(image, [face])[0]
    assert (chip[:10, :10] == 0).all() and (chip[100:, 100:] == 200).all()


def test_the_transform_is_the_least_squares_similarity_insightface_estimates():
    """Noisy landmarks: the same matrix as Umeyama's method (scikit-image's SimilarityTransform.estimate)."""
    rng = np.random.default_rng(0)
    source = ARCFACE_DST * 1.3 + [50, 40] + rng.normal(0, 3, (5, 2))
    target = insightface_template(112)
    mean_s, mean_t = source.mean(0), target.mean(0)
    u, d, vt = np.linalg.svd((target - mean_t).T @ (source - mean_s) / 5)
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rotation = u @ sign @ vt
    factor = (d * np.diag(sign)).sum() / (source - mean_s).var(0).sum()
    umeyama = np.hstack([factor * rotation, (mean_t - factor * rotation @ mean_s)[:, None]])
    np.testing.assert_allclose(similarity_transform(source, target), umeyama, atol=1e-6)
    np.testing.assert_allclose(insightface_template(112), ARCFACE_DST, atol=1e-4)
    np.testing.assert_allclose(insightface_template(128), ARCFACE_DST + [8, 0], atol=1e-4)


# -------------------------------------------------------------------------------------------- batching

def test_a_batch_equals_its_faces_one_by_one(networks, photos):
    chips = [chip for image, faces in photos for chip in create_embedder("arcface", path=networks["a"]).chips(
        image, faces)]
    batched = create_embedder("arcface", path=networks["a"], batch_size=4).embed(chips)  # batches of 4 and 2
    single = np.vstack([create_embedder("arcface", path=networks["a"]).embed([c]) for c in chips])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    fixed = create_embedder("arcface", path=networks["fixed"])  # a file whose batch is 1: run face by face
    assert fixed.graph.batch == 1
    np.testing.assert_allclose(fixed.embed(chips), batched, atol=1e-5)


def test_flip_averages_with_the_mirror_image(networks, photos):
    plain, flipped = (create_embedder("arcface", path=networks["a"], flip=f) for f in (False, True))
    chips = plain.chips(*photos[0])
    expected = normalise(plain.embed(chips) + plain.embed([np.ascontiguousarray(c[:, ::-1]) for c in chips]))
    np.testing.assert_allclose(flipped.embed(chips), expected, atol=1e-5)
    assert flipped.identity != plain.identity


# --------------------------------------------------------------------------------------------- caching

def test_the_file_sha256_keys_the_cache(networks, tmp_path):
    a, b = create_embedder("arcface", path=networks["a"]), create_embedder("arcface", path=networks["b"])
    copy = create_embedder("arcface", path=shutil.copy(networks["a"], tmp_path / "copy.onnx"))
    assert a.sha256 in a.identity and a.identity != b.identity and copy.identity == a.identity
    photo = images_of(CELEBRITY5 / "train" / "madonna")[0]
    key, detector = content_hash(photo.read_bytes()), create_detector("yunet")
    cache = EmbeddingCache(tmp_path / "cache")
    first = next(Extractor(detector, a).extract_paths([photo], cache=cache))
    found = cache.get(key, Extractor(detector, copy).identity)  # the same file elsewhere: what `a` cached
    assert found is not None
    np.testing.assert_array_equal(found[1], first.embeddings)
    assert cache.get(key, Extractor(detector, b).identity) is None  # another file: nothing cached for it
    other = next(Extractor(detector, b).extract_paths([photo], cache=cache))
    assert not np.allclose(other.embeddings, first.embeddings, atol=1e-3)
    cache.close()


# ---------------------------------------------------------------------------------------------- errors

def _one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message
    return message


def test_no_model_anywhere_says_where_to_put_one_and_why_it_is_not_shipped():
    with pytest.raises(MissingWeightsError) as missing:
        create_embedder("arcface")
    message = _one_line(missing)
    for words in ("~/.insightface/models/", "--embedder arcface:PATH", f"${ENVIRONMENT}", "not on PyPI",
                  "non-commercial"):
        assert words in message


def test_a_missing_file_is_named(tmp_path, monkeypatch):
    with pytest.raises(MissingWeightsError) as missing:
        create_embedder("arcface", path=tmp_path / "w600k_r50.onnx")
    assert str(tmp_path / "w600k_r50.onnx") in _one_line(missing) and "non-commercial" in str(missing.value)
    monkeypatch.setenv(ENVIRONMENT, str(tmp_path / "gone.onnx"))
    with pytest.raises(MissingWeightsError) as missing:
        create_embedder("arcface")
    assert f"${ENVIRONMENT} = {tmp_path / 'gone.onnx'}: no such file" in _one_line(missing)


def test_a_file_that_is_not_a_recognition_model_is_named(tmp_path):
    photo = shutil.copy(images_of(CELEBRITY5 / "train" / "madonna")[0], tmp_path / "w600k_r50.onnx")
    with pytest.raises(ModelFileError) as wrong:
        create_embedder("arcface", path=photo)
    assert _one_line(wrong).startswith(f"arcface: {photo}: not an ONNX model")
    detector = shutil.copy(YUNET.path(), tmp_path / "det_10g.onnx")
    with pytest.raises(ModelFileError) as wrong:
        create_embedder("arcface", path=detector)
    assert f"{detector}: not an InsightFace face recognition model (its input is 1 x 3 x 640 x 640" in _one_line(wrong)


def test_a_recorded_file_is_found_by_its_sha256_or_refused(networks, tmp_path, no_user_models, monkeypatch):
    trained = create_embedder("arcface", path=shutil.copy(networks["a"], tmp_path / "w600k_r50.onnx"))
    settings = json.loads(json.dumps(trained.settings))
    assert settings == {"path": str(tmp_path / "w600k_r50.onnx"), "sha256": trained.sha256, "flip": False}
    assert create_embedder("arcface", **settings).identity == trained.identity

    shutil.copy(networks["b"], tmp_path / "w600k_r50.onnx")  # another model where the recorded one was
    with pytest.raises(MissingWeightsError) as refused:
        create_embedder("arcface", **settings)
    message = _one_line(refused)
    assert str(tmp_path / "w600k_r50.onnx") in message and f"sha256 {trained.sha256}" in message
    assert "the file there has sha256" in message

    (tmp_path / "w600k_r50.onnx").unlink()
    with pytest.raises(MissingWeightsError, match="not found"):
        create_embedder("arcface", **settings)

    monkeypatch.setenv(ENVIRONMENT, str(networks["a"]))  # a copy elsewhere, named by the environment
    assert create_embedder("arcface", **settings).path == networks["a"]
    monkeypatch.delenv(ENVIRONMENT)
    pack = no_user_models / ".insightface" / "models" / "antelopev2"
    pack.mkdir(parents=True)
    shutil.copy(networks["b"], pack / "glintr100.onnx")
    shutil.copy(networks["a"], pack / "w600k_r50.onnx")  # or in a pack, beside another model
    rebuilt = create_embedder("arcface", **settings)
    assert rebuilt.path == pack / "w600k_r50.onnx" and rebuilt.identity == trained.identity


# ------------------------------------------------------------------------------------ specs and settings

def test_the_spec_syntax():
    assert parse_spec("facenet") == (SpecPart("facenet"),)
    assert parse_spec("arcface+facenet+dlib") == (SpecPart("arcface"), SpecPart("facenet"), SpecPart("dlib"))
    assert parse_spec("arcface:/m/a+b.onnx+facenet") == (SpecPart("arcface", "/m/a+b.onnx"), SpecPart("facenet"))
    assert set(spec_names()) == {n for n in EMBEDDERS.names() if "+" not in n} - {"finetuned"}
    assert made_for_faces("arcface:/m/w600k_r50.onnx+facenet+dlib") and made_for_faces("facenet+dlib")
    assert not made_for_faces("arcface+mobilenetv2") and not made_for_faces("mobilenetv2+efficientnet-lite0")
    for bad, says in [("", "an empty name"), ("facenet+", "an empty name"), ("fecenet", "unknown embedder 'fecenet'"),
                      ("facenet:x", "facenet takes no ':' value"), ("arcface:", "nothing after 'arcface:'"),
                      ("finetuned", "unknown embedder 'finetuned'")]:
        with pytest.raises(WhosthatError, match=says):
            parse_spec(bad)


def test_train_takes_a_spec_on_the_command_line(capsys):
    args = build_parser().parse_args(["train", "photos", "--embedder", "arcface:~/w600k_r50.onnx+facenet"])
    assert args.embedder == "arcface:~/w600k_r50.onnx+facenet"
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["train", "photos", "--embedder", "arcface+facenet+dlb"])
    assert stopped.value.code == 2 and "unknown embedder 'dlb'" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["facenet", "dlib", "facenet+dlib", "mobilenetv2+efficientnet-lite0", "ARCFACE",
                                  "ARCFACE+facenet+dlib", "facenet+ARCFACE"])
def test_settings_rebuild_an_equal_embedder(spec, networks):
    embedder = embedder_from_spec(spec.replace("ARCFACE", f"arcface:{networks['a']}"), flip=True)
    settings = json.loads(json.dumps(embedder.settings))  # what a model file keeps
    rebuilt = create_embedder(embedder.name, **settings)
    assert (rebuilt.name, rebuilt.identity, rebuilt.settings, rebuilt.dim) == (
        embedder.name, embedder.identity, embedder.settings, embedder.dim)
    assert embedder.name == "+".join(p.name for p in parse_spec(spec.replace("ARCFACE", "arcface")))


def test_facenet_dlib_is_what_it_was(photos):
    """The registered pair and the same names joined in a spec: the identity and vectors of the two parts side by
    side (the identity keys caches and model files)."""
    facenet, dlib = create_embedder("facenet"), create_embedder("dlib")
    pair = create_embedder("facenet+dlib")
    assert pair.identity == f"{facenet.identity}+{dlib.identity}" and pair.settings == {"flip": False}
    assert embedder_from_spec("facenet+dlib").identity == pair.identity
    image, faces = photos[0]
    expected = normalise(np.hstack([facenet.embed(facenet.chips(image, faces)), dlib.embed(dlib.chips(image, faces))]))
    np.testing.assert_allclose(pair.embed(pair.chips(image, faces)), expected, atol=1e-6)


# ------------------------------------------------------------------------------------ train and predict

@pytest.fixture(scope="module")
def celebrity_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six photos of each of three celebrity5 people (symlinks)."""
    require(CELEBRITY5)
    chosen = {p: images_of(CELEBRITY5 / "train" / p)[:6] for p in ("ben_afflek", "elton_john", "madonna")}
    return link_tree(tmp_path_factory.mktemp("celebrity-arcface"), chosen)


def _check_predicts(model_file: Path, classes: list[str], sha256: str) -> None:
    model = whosthat.load(model_file)
    assert model.classes == classes and sha256 in model.pipeline_identity
    photo = images_of(CELEBRITY5 / "val" / "madonna")[0]
    faces = model.predict(photo)
    assert len(faces) >= 1 and faces.error is None
    assert all(f.label in classes + [UNKNOWN_LABEL] for f in faces)


def test_train_and_predict_with_the_file_in_the_environment(celebrity_folder, networks, session_cache, tmp_path,
                                                            monkeypatch):
    monkeypatch.setenv(ENVIRONMENT, str(networks["a"]))
    model = whosthat.train(celebrity_folder, embedder="arcface", subject="face", out=tmp_path / "celebrity.wt",
                           cache_dir=session_cache)
    sha256 = create_embedder("arcface").sha256
    _check_predicts(tmp_path / "celebrity.wt", model.classes, sha256)


def test_train_and_predict_with_a_spec_and_the_file_checked(celebrity_folder, networks, session_cache, tmp_path):
    path = Path(shutil.copy(networks["a"], tmp_path / "w600k_r50.onnx"))
    sha256 = create_embedder("arcface", path=path).sha256
    model = whosthat.train(celebrity_folder, embedder=f"arcface:{path}", subject="face", out=tmp_path / "c.wt",
                           cache_dir=session_cache)
    _check_predicts(tmp_path / "c.wt", model.classes, sha256)
    shutil.copy(networks["b"], path)  # another model where the one it was trained with was: refused, in one line
    with pytest.raises(MissingWeightsError, match=f"{path} with sha256 {sha256}: the file there has sha256"):
        whosthat.load(tmp_path / "c.wt").predict(images_of(CELEBRITY5 / "val" / "madonna")[0])
