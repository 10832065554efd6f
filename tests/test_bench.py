"""bench/accuracy.py still runs as its README shows: a quick run on celebrity5, beside face_recognition."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from conftest import DATASETS, missing, require

ROOT = Path(__file__).resolve().parents[1]


def test_quick_face_benchmark_prints_both_tables(tmp_path: Path) -> None:
    if importlib.util.find_spec("face_recognition") is None:  # not imported here: it loosens Pillow for the process
        missing("face_recognition is not installed (make test installs it)")
    require(DATASETS / "celebrity5")
    out = tmp_path / "bench.json"
    run = subprocess.run([sys.executable, "bench/accuracy.py", "--quick", "--sets", "celebrity5", "--embedder",
                          "facenet", "--datasets", str(DATASETS), "--json-out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| set | method | accuracy | top-1 | member among names |" in run.stdout
    assert "| set | method | held-out classes |" in run.stdout
    rows = {row["method"]: row for row in json.loads(out.read_text())["accuracy"]}
    assert set(rows) == {"whosthat facenet/logistic", "face_recognition knn"}
    ours = rows["whosthat facenet/logistic"]
    assert ours["accuracy"] >= 0.9 and ours["top1_accuracy"] >= ours["accuracy"]
    assert ours["train_cold_s"] is not None and not ours["warm_reembedded"], "the warm run re-embeds nothing"
    assert 0.0 <= rows["face_recognition knn"]["accuracy"] <= 1.0


def test_small_faces_benchmark_prints_its_table() -> None:
    """bench/small_faces.py runs as bench/README.md shows; on 32 px faces the default finds more than the first pass."""
    require(DATASETS / "blackpink")
    run = subprocess.run([sys.executable, "bench/small_faces.py", "--sizes", "32", "--repeats", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "| photo | search | face px | found | other | ms | extra MB |" in run.stdout
    found = {}
    for line in run.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and cells[2] == "32":
            found[(cells[0], cells[1])] = int(cells[3].split("/")[0])
    assert len(found) == 6
    for photo in ("4032x3024", "6000x4000"):
        assert found[(photo, "default")] >= found[(photo, "first pass only")] + 15, found


def test_stranger_limit_benchmark_prints_its_table() -> None:
    """bench/calibration.py runs as bench/README.md shows; rejecting more members names fewer strangers."""
    require(DATASETS / "celebrity5")
    run = subprocess.run([sys.executable, "bench/calibration.py", "--quick", "--sets", "celebrity5", "--embedder",
                          "facenet", "--datasets", str(DATASETS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.strip("|").split("|") for line in run.stdout.splitlines() if line.startswith("| celebrity5 |")]
    assert len(rows) == 1, run.stdout
    cells = [c.strip() for c in rows[0]]
    assert cells[1] == "2" and int(cells[2]) > 0 and int(cells[3]) > 0, cells  # two held-out classes, photos of each
    at_2, at_3, at_5 = (float(c.rstrip("%")) for c in cells[6:9])
    assert at_2 >= at_3 >= at_5, cells


def test_strangers_benchmark_prints_every_figure_as_json() -> None:
    """bench/strangers.py --quick --json: both models (or "n/a" where train has no --others), the trade-off rows
    the grouping's BCubed figures and the collection check's, each share between 0 and 1."""
    require(DATASETS / "blackpink")
    require(DATASETS / "kpop15")
    run = subprocess.run([sys.executable, "bench/strangers.py", "--quick", "--json", "--datasets", str(DATASETS)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert {"data", "models", "grouping", "settings", "wall_s", "load_average"} <= set(result)
    assert not set(result["data"]["other_people"]) & set(result["data"]["stranger_people"])
    assert "Lisa" not in result["data"]["other_people"] + result["data"]["stranger_people"]
    assert set(result["models"]) == {"without others", "with others"}
    for name, model in result["models"].items():
        if not model["available"]:
            assert name == "with others" and not result["settings"]["others_supported"], model
            continue
        assert model["member_photos"] > 0 and model["stranger_photos"] > 0
        rows = model["tradeoff"]
        assert [r["target_members_rejected"] for r in rows] == [None, 0.01, 0.02, 0.03, 0.05, 0.1]
        assert [r["threshold"] for r in rows[1:]] == sorted(r["threshold"] for r in rows[1:])
        for row in rows:
            for key in ("members_named_right", "members_largest_face_right", "members_rejected", "strangers_named"):
                assert 0.0 <= row[key] <= 1.0, (key, row)
        # a higher threshold names no more strangers
        assert [r["strangers_named"] for r in rows[1:]] == sorted((r["strangers_named"] for r in rows[1:]),
                                                                 reverse=True)
    grouping = result["grouping"]
    assert grouping["groups"] >= 0 and grouping["scored_faces"] <= grouping["unknown_faces"]
    if grouping["scored_faces"]:
        for key in ("bcubed_precision", "bcubed_recall", "bcubed_f"):
            assert 0.0 < grouping[key] <= 1.0, grouping
    checked, alone = grouping["collection_check"], result["models"]["without others"]
    assert checked["faces_doubted"] >= 0 and checked["member_photos"] == alone["member_photos"]
    # the collection check only takes names away: it names no more strangers than the faces alone
    assert checked["strangers_named"] <= alone["strangers_named"]


def test_review_benchmark_prints_both_reviewers_as_json(session_cache: Path) -> None:
    """bench/review.py --quick --json: each reviewer's members named right and strangers named after each number of
    answers, each share between 0 and 1; both start from the same index."""
    require(DATASETS / "blackpink")
    require(DATASETS / "kpop15")
    run = subprocess.run([sys.executable, "bench/review.py", "--quick", "--json", "--answers", "0", "4",
                          "--random-runs", "1", "--datasets", str(DATASETS), "--cache-dir", str(session_cache)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert {"data", "reviewers", "settings", "wall_s", "load_average"} <= set(result)
    assert set(result["reviewers"]) == {"review order", "random order"}
    for rows in result["reviewers"].values():
        assert [row["answers"] for row in rows] == [0, 4]
        assert sum(rows[-1]["said"].values()) == 4
        for row in rows:
            assert 0.0 <= row["members_named_right"] <= 1.0 and 0.0 <= row["strangers_named"] <= 1.0, row
    review, random = (result["reviewers"][r] for r in ("review order", "random order"))
    assert review[0] == {**random[0], "seconds": review[0]["seconds"]}
