"""Where the milliseconds of one face prediction go, and what ONNX Runtime, the channels-last layout and the
port of dlib's network save.

Stages: on the 1024-px blackpink photos with one face (bench/accuracy.py's timing photos), the
median milliseconds of loading the image, YuNet's detection, and each embedder's chips and
forward pass (FaceNet and dlib: the default pipeline). Then the forward pass of each PyTorch
network (FaceNet, MobileNetV2, EfficientNet-Lite0) at batch 1 and 32 with its weights in the
default (contiguous, NCHW) layout and in channels-last (NHWC), which whosthat uses: the two are
measured in turn, repeat after repeat, in the same process, so that the machine's load falls on
both alike. Last, dlib's face-recognition network as dlib's own wheel runs it
(`compute_face_descriptor`) and as whosthat runs it (`whosthat.vision.embedders._dlib_net`, the same
weights, run in ONNX Runtime), on real chips, also in turn, with the largest difference between their vectors.
Between the two: YuNet as OpenCV runs it and as whosthat runs it (ONNX Runtime), and FaceNet and dlib's network
in PyTorch (channels-last) and in ONNX Runtime, which whosthat uses on the CPU, in turn.

    .venv/bin/python bench/speed.py
    .venv/bin/python bench/speed.py --repeats 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Optional

import numpy as np
import torch

from accuracy import DATASETS, TIMING_PHOTOS, markdown, timing_photos
from whosthat.vision.detectors import create_detector
from whosthat.vision.embedders import create_embedder
from whosthat.vision.images import load_image

NETWORKS = (("facenet", 160), ("dlib", 150), ("mobilenetv2", 224), ("efficientnet-lite0", 224))


def _timed(call: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """`call(*args)` and the milliseconds it took."""
    started = time.perf_counter()
    result = call(*args)
    return result, 1000 * (time.perf_counter() - started)


def stage_rows(repeats: int) -> list[list[object]]:
    """Median ms of each stage of the default face pipeline over the timing photos, `repeats` passes."""
    photos = timing_photos(DATASETS, TIMING_PHOTOS)
    detector = create_detector("yunet")
    embedders = {name: create_embedder(name) for name in ("facenet", "dlib")}
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        for path in photos:
            image, ms = _timed(load_image, path)
            times["load image"].append(ms)
            faces, ms = _timed(detector.detect, image)
            times["detect (YuNet)"].append(ms)
            for name, embedder in embedders.items():
                chips, ms = _timed(embedder.chips, image, faces[:1])
                times[f"{name} chips"].append(ms)
                times[f"{name} forward"].append(_timed(embedder.embed, chips)[1])
    return [[stage, f"{statistics.median(values):.1f}"] for stage, values in times.items()]


def layout_rows(repeats: int, batches: Sequence[int] = (1, 32)) -> list[list[object]]:
    """Median ms of each network's forward pass in the contiguous and the channels-last layout, interleaved."""
    layouts = {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}
    rows = []
    for name, size in NETWORKS:
        net = create_embedder(name).network()
        forward = net.embedding if hasattr(net, "embedding") else net
        for batch in batches:
            x = torch.randn(batch, 3, size, size)
            times: dict[str, list[float]] = defaultdict(list)
            outputs = {}
            with torch.inference_mode():
                for _ in range(repeats):
                    for layout, memory_format in layouts.items():
                        net.to(memory_format=memory_format)
                        xs = x.contiguous(memory_format=memory_format)
                        forward(xs)  # the first pass after a change of layout is not counted
                        outputs[layout], ms = _timed(forward, xs)
                        times[layout].append(ms)
            difference = float((outputs["contiguous"] - outputs["channels_last"]).abs().max())
            a, b = statistics.median(times["contiguous"]), statistics.median(times["channels_last"])
            rows.append([name, batch, f"{a:.1f}", f"{b:.1f}", f"{1 - b / a:.0%}", f"{difference:.1e}"])
    return rows


def runtime_rows(repeats: int, batches: Sequence[int] = (1, 32)) -> list[list[object]]:
    """Median ms of YuNet as OpenCV runs it (`cv2.FaceDetectorYN`) and as whosthat does (ONNX Runtime), on the
    timing photos; and of FaceNet and dlib's network in PyTorch (channels-last) and in ONNX Runtime, on real chips;
    each pair in turn, with the largest difference between their outputs."""
    import cv2

    from whosthat.vision.detectors.yunet import _resized
    from whosthat.vision.embedders.base import embed_in_batches, torch_network
    from whosthat.vision.embedders.dlib_resnet import to_input
    from whosthat.vision.embedders.facenet import prewhiten
    from whosthat.vision.weights import YUNET

    detector = create_detector("yunet")
    opencv = cv2.FaceDetectorYN.create(str(YUNET.path()), "", (320, 320), detector.score_threshold,
                                       detector.nms_threshold, 5000)
    images = [load_image(path) for path in timing_photos(DATASETS, TIMING_PHOTOS)]
    scaled = [_resized(cv2.cvtColor(image, cv2.COLOR_RGB2BGR), min(1.0, detector.max_side / max(image.shape[:2])))
              for image in images]

    def with_opencv(bgr: np.ndarray) -> np.ndarray:
        opencv.setInputSize((bgr.shape[1], bgr.shape[0]))
        return opencv.detect(bgr)[1]

    times: dict[str, list[float]] = defaultdict(list)
    difference = 0.0
    for _ in range(repeats):
        for bgr in scaled:
            expected, ms = _timed(with_opencv, bgr)
            times["opencv"].append(ms)
            found, ms = _timed(detector._rows, bgr)
            times["onnxruntime"].append(ms)
            if len(found) == len(expected) and len(found):
                order = np.argsort(-expected[:, 14]), np.argsort(-found[:, 14])
                difference = max(difference, float(np.abs(found[order[1]] - expected[order[0]]).max()))
    a, b = statistics.median(times["opencv"]), statistics.median(times["onnxruntime"])
    rows: list[list[object]] = [["YuNet (a photo)", 1, f"{a:.1f}", f"{b:.1f}", f"{a / b:.1f}x", f"{difference:.1e} px"]]
    for name, to_batch in (("facenet", prewhiten), ("dlib", to_input)):
        embedder = create_embedder(name)
        chips = [chip for image in images for chip in embedder.chips(image, detector.detect(image)[:1])]
        runs = {"pytorch": torch_network(embedder.network(), "cpu"), "onnxruntime": embedder.forward()}
        for batch in batches:
            batch_chips = [chips[i % len(chips)] for i in range(batch)]
            embed = partial(embed_in_batches, dim=embedder.dim, batch_size=batch, flip=False)
            times, outputs = defaultdict(list), {}
            for run in runs.values():  # the first call (loading, allocation) is not counted
                embed(batch_chips, to_batch, run)
            for _ in range(repeats):
                for runtime, run in runs.items():
                    outputs[runtime], ms = _timed(embed, batch_chips, to_batch, run)
                    times[runtime].append(ms)
            a, b = statistics.median(times["pytorch"]), statistics.median(times["onnxruntime"])
            difference = float(np.abs(outputs["pytorch"] - outputs["onnxruntime"]).max())
            rows.append([name, batch, f"{a:.1f}", f"{b:.1f}", f"{a / b:.1f}x", f"{difference:.1e}"])
    return rows


def dlib_rows(repeats: int, batches: Sequence[int] = (1, 32)) -> list[list[object]]:
    """Median ms of dlib's network run by dlib's wheel and by whosthat (its port, in ONNX Runtime), interleaved."""
    import dlib

    from whosthat.vision.weights import DLIB_RESNET

    detector, embedder = create_detector("yunet"), create_embedder("dlib")
    chips = []
    for path in timing_photos(DATASETS, TIMING_PHOTOS):
        image = load_image(path)
        chips += embedder.chips(image, detector.detect(image)[:1])
    wheel = dlib.face_recognition_model_v1(str(DLIB_RESNET.path()))
    rows = []
    for batch in batches:
        batch_chips = [np.ascontiguousarray(chips[i % len(chips)]) for i in range(batch)]
        runs = {"dlib": lambda c: np.asarray(wheel.compute_face_descriptor(c)), "whosthat": embedder.embed}
        times: dict[str, list[float]] = defaultdict(list)
        outputs = {}
        for run in runs.values():
            run(batch_chips)  # the first call (loading, allocation) is not counted
        for _ in range(repeats):
            for name, run in runs.items():
                outputs[name], ms = _timed(run, batch_chips)
                times[name].append(ms)
        reference = outputs["dlib"] / np.linalg.norm(outputs["dlib"], axis=1, keepdims=True)
        difference = float(np.abs(outputs["whosthat"] - reference).max())
        a, b = statistics.median(times["dlib"]), statistics.median(times["whosthat"])
        rows.append([batch, f"{a:.1f}", f"{b:.1f}", f"{a / b:.1f}x", f"{difference:.1e}"])
    return rows


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="passes over the photos / forward passes (default 10)")
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}", flush=True)
    print(markdown(["stage (one 1024-px photo, one face)", "median ms"], stage_rows(args.repeats)))
    print()
    print(markdown(["network", "batch", "contiguous ms", "channels-last ms", "saved", "largest output difference"],
                   layout_rows(args.repeats)))
    print()
    print(markdown(["network", "batch", "OpenCV / PyTorch ms", "ONNX Runtime ms", "faster", "largest difference"],
                   runtime_rows(args.repeats)))
    print()
    print(markdown(["dlib network, batch", "dlib's wheel ms", "whosthat ms", "faster", "largest vector difference"],
                   dlib_rows(args.repeats)))


if __name__ == "__main__":
    main()
