"""The networks in ONNX Runtime against their reference runs on real photos: YuNet against OpenCV's own
`FaceDetectorYN`, FaceNet and dlib's network against PyTorch; and the exported graphs' cache."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from conftest import images_of
from whosthat.vision.detectors.yunet import YuNet, _resized
from whosthat.vision.embedders import create_embedder
from whosthat.vision.embedders._dlib_net import load_dlib_resnet
from whosthat.vision.embedders.base import embed_in_batches, torch_network
from whosthat.vision.embedders.dlib_resnet import to_input
from whosthat.vision.embedders.facenet import prewhiten
from whosthat.vision.images import load_image
from whosthat.vision.onnx_graph import read_graph_summary, with_free_input_size
from whosthat.vision.onnx_runtime import OnnxNetwork
from whosthat.vision.weights import DLIB_RESNET, YUNET


@pytest.fixture(scope="module")
def photos(datasets: Path) -> list[np.ndarray]:
    """Group photos, single portraits of many sizes and tight crops."""
    paths = [datasets / "blackpink" / "unlabeled" / "blackpink.jpg"]
    members = datasets / "blackpink" / "photos"
    paths += [p for member in ("jennie_kim", "rose_park") for p in images_of(members / member)[:8]]
    paths += images_of(datasets / "kpop15/train/Irene")[:4]
    return [load_image(p) for p in paths]


def test_yunet_gives_opencvs_faces(photos: list[np.ndarray]) -> None:
    ours = YuNet()
    opencv = cv2.FaceDetectorYN.create(str(YUNET.path()), "", (320, 320), ours.score_threshold, ours.nms_threshold,
                                       5000)
    compared = 0
    for image in photos:
        longest = max(image.shape[:2])
        scale = ours.min_side / longest if longest < ours.min_side else min(1.0, ours.max_side / longest)
        bgr = _resized(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), scale)
        opencv.setInputSize((bgr.shape[1], bgr.shape[0]))
        _, expected = opencv.detect(bgr)
        expected = np.zeros((0, 15), np.float32) if expected is None else expected
        found = ours._rows(bgr)
        assert len(found) == len(expected)
        order = np.argsort(-expected[:, 14]), np.argsort(-found[:, 14])
        np.testing.assert_allclose(found[order[1]], expected[order[0]], atol=2e-3)
        compared += len(found)
    assert compared >= 20


def test_a_fixed_size_graph_takes_any_size() -> None:
    graph = with_free_input_size(YUNET.path().read_bytes(), {2: "height", 3: "width"})
    path = Path(YUNET.path())
    assert read_graph_summary(path).inputs[0].shape == (1, 3, 640, 640)
    import onnxruntime

    session = onnxruntime.InferenceSession(graph, providers=["CPUExecutionProvider"])
    assert [d for d in session.get_inputs()[0].shape] == [1, 3, "height", "width"]
    for height, width in ((96, 160), (480, 800)):
        outputs = session.run(["cls_8"], {"input": np.zeros((1, 3, height, width), np.float32)})
        assert outputs[0].shape == (1, height // 8 * width // 8, 1)
    with pytest.raises(ValueError):
        with_free_input_size(b"\x08\x07", {2: "height"})


@pytest.mark.parametrize("name", ["facenet", "dlib"])
def test_the_onnx_network_gives_pytorchs_vectors(name: str, photos: list[np.ndarray]) -> None:
    embedder = create_embedder(name, batch_size=7)
    detector = YuNet()
    chips = [chip for image in photos[:12] for chip in embedder.chips(image, detector.detect(image)[:2])]
    ours = embedder.embed(chips)  # several batches, the last one short
    reference = embed_in_batches(chips, {"facenet": prewhiten, "dlib": to_input}[name],
                                 torch_network(embedder.network(), "cpu"), dim=embedder.dim, batch_size=7, flip=False)
    assert len(chips) >= 12
    np.testing.assert_allclose(ours, reference, atol=1e-5)


def test_the_exported_graph_is_kept_and_reused(tmp_path: Path) -> None:
    first = OnnxNetwork("dlib-resnet", 150, DLIB_RESNET.path(), lambda: load_dlib_resnet(DLIB_RESNET.path()),
                        cache_dir=tmp_path)
    chips = np.random.default_rng(0).random((3, 3, 150, 150), np.float32)
    expected = first(chips)
    [graph] = (tmp_path / "onnx").iterdir()
    assert [p.name for p in tmp_path.joinpath("onnx").iterdir()] == [graph.name]  # no temporary file left

    def must_not_build() -> torch.nn.Module:
        raise AssertionError("exported again")

    again = OnnxNetwork("dlib-resnet", 150, DLIB_RESNET.path(), must_not_build, cache_dir=tmp_path)
    np.testing.assert_array_equal(again(chips), expected)

    other = tmp_path / "other-weights.dat"
    other.write_bytes(DLIB_RESNET.path().read_bytes() + b"\0")
    assert OnnxNetwork("dlib-resnet", 150, other, must_not_build, cache_dir=tmp_path).path != graph


def test_sessions_take_the_cores_the_process_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from whosthat.vision.onnx_runtime import cores, session_options

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as Ray sets it in an actor holding one CPU
    assert cores() == 1 and session_options().intra_op_num_threads == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "")
    assert cores() == len(os.sched_getaffinity(0))


def test_a_damaged_graph_is_exported_again_and_an_unwritable_cache_is_no_stop(tmp_path: Path) -> None:
    def build() -> torch.nn.Module:
        return load_dlib_resnet(DLIB_RESNET.path())

    chips = np.random.default_rng(1).random((2, 3, 150, 150), np.float32)
    expected = torch_network(build().eval(), "cpu")(chips)
    network = OnnxNetwork("dlib-resnet", 150, DLIB_RESNET.path(), build, cache_dir=tmp_path)
    network.path.parent.mkdir(parents=True)
    network.path.write_bytes(b"half a graph")
    np.testing.assert_allclose(network(chips), expected, atol=1e-5)
    assert network.path.stat().st_size > 1_000_000  # written again, whole

    blocked = tmp_path / "a-file"
    blocked.write_bytes(b"")
    in_memory = OnnxNetwork("dlib-resnet", 150, DLIB_RESNET.path(), build, cache_dir=blocked)
    np.testing.assert_allclose(in_memory(chips), expected, atol=1e-5)
