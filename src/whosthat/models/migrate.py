"""`upgrade`: a format-1 model file's manifest and arrays in the layout of the current format.

The only place that knows format 1: everything else reads the current layout (`whosthat.models.model`,
`whosthat.models.ensemble`, `whosthat.models.records`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from whosthat.core.arrays import nest, part
from whosthat.models.file import FORMAT_VERSION
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION, SUM, Calibration, StrangerScore, ThresholdCurve

_NO_BOXES = np.zeros((0, 4), np.float32)


def upgrade(manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """A format-1 model or ensemble as the current format writes it."""
    if "ensemble" in manifest:
        return _ensemble(manifest, arrays)
    return _model(manifest, arrays)


def _ensemble(manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    members, upgraded = [], {}
    for k, member in enumerate(manifest["ensemble"]["members"]):
        member_manifest, member_arrays = _model(member, part(f"members/{k}", arrays))
        members.append(member_manifest)
        upgraded.update(nest(f"members/{k}", member_arrays))
    test = None
    if manifest.get("metrics"):  # format 1 kept an ensemble's figures, not its photos' outcomes
        test, outcomes = _test(manifest["metrics"], {})
        test.update({"root": "", "paths": []})
        upgraded.update(nest("test", outcomes))
    return ({**_header(manifest), "kind": "ensemble", "threshold": manifest["open_set"]["threshold"],
             "members": members, "test": test}, upgraded)


def _model(manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    pipeline = manifest["pipeline"]
    split = manifest.get("split") or {}
    whiten = "whitening/matrix" in arrays
    recogniser = {"params": {"head": pipeline["head"]["name"], "head_params": pipeline["head"]["params"],
                             "whiten": whiten, "calibrate": True, "max_member_rejection": DEFAULT_MAX_MEMBER_REJECTION,
                             "seed": int(split.get("seed", 0))},
                  "classes": list(manifest["classes"])}
    recogniser_arrays = {**nest("head", part("head", arrays)), "reference/X": arrays["reference/X"],
                         "reference/y": arrays["reference/y"]}
    if whiten:
        recogniser_arrays["whitening"] = arrays["whitening/matrix"]
    recogniser["calibration"], calibration = _calibration(manifest, arrays).to_bundle()
    upgraded = {**nest("recogniser", {**recogniser_arrays, **nest("calibration", calibration)}),
                **nest("embedder", part("embedder", arrays))}
    training = None
    if split and "training" in manifest:
        training, training_arrays = _training(manifest, arrays)
        upgraded.update(nest("training", training_arrays))
    return ({**_header(manifest), "kind": "model", "classes": list(manifest["classes"]),
             "pipeline": {"detector": pipeline["detector"], "embedder": pipeline["embedder"]},
             "weights": manifest.get("weights", {}), "recogniser": recogniser, "training": training}, upgraded)


def _header(manifest: Mapping) -> dict:
    return {"format": manifest["format"], "format_version": FORMAT_VERSION,
            "whosthat_version": manifest.get("whosthat_version")}


def _calibration(manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> Calibration:
    """The stranger score (the sum, in files made before it was learned) and the curve the format-1 threshold
    lies on, at that threshold's point (a one-point curve without rates where no curve was kept)."""
    threshold = float(manifest["open_set"]["threshold"])
    opened = part("open_set", arrays)
    score = StrangerScore.from_arrays(opened) if "cue_weights" in opened else SUM
    counts = manifest.get("open_set_calibration") or {}
    if "thresholds" in opened:
        curve = ThresholdCurve.from_arrays(opened, int(counts.get("members", 0)),
                                           int(counts.get("simulated_strangers", 0)))
    else:
        curve = ThresholdCurve(np.array([threshold]), np.array([np.nan]), np.array([np.nan]), 0, 0)
    return Calibration(score, curve, curve.index_at(threshold), None)


def _training(manifest: Mapping, arrays: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    training, report = manifest["training"], manifest.get("report") or {}
    subject = manifest.get("subject") or {"detector": manifest["pipeline"]["detector"]["name"], "chosen_by": "given"}
    meta = {"split": manifest["split"], "notes": training.get("notes", []),
            "photos_used": training.get("photos_used", 0), "seconds": training.get("seconds", {}),
            "subject": subject, "finetune": manifest.get("finetune"),
            "reference_photos": {"root": report.get("root", manifest["split"].get("root", "")),
                                 "paths": report.get("reference_paths", [])}}
    upgraded = {"content_keys": arrays.get("training/content_keys", np.zeros((0, 32), np.uint8)),
                "reference_photos/boxes": arrays.get("report/reference_boxes", _NO_BOXES)}
    paths = (manifest.get("validation") or {}).get("paths")
    if paths is not None and "validation/probabilities" in arrays:
        meta["validation"] = {"paths": paths}
        upgraded.update({"validation/probabilities": arrays["validation/probabilities"],
                         "validation/labels": arrays["validation/labels"]})
    if manifest.get("metrics"):
        test, outcomes = _test(manifest["metrics"], part("report", arrays))
        meta["test"] = {**test, "root": report.get("test_root", ""), "paths": report.get("test_paths", [])}
        if "truth" not in outcomes:
            meta["test"]["paths"] = []
        upgraded.update(nest("test", outcomes))
    return meta, upgraded


def _test(metrics: Mapping, report: Mapping[str, np.ndarray]) -> tuple[dict, dict[str, np.ndarray]]:
    """A test record's JSON part (but its photos) and arrays: the per-photo outcomes where format 1 kept them
    (`report/test_*`), else none."""
    names = ("truth", "predicted", "confidence", "boxes")
    if all(f"test_{k}" in report for k in names):
        return {"metrics": metrics}, {k: report[f"test_{k}"] for k in names}
    return {"metrics": metrics}, {"truth": np.zeros(0, np.int64), "predicted": np.zeros(0, np.int64),
                                  "confidence": np.zeros(0), "boxes": _NO_BOXES}
