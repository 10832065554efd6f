"""The command line, run in-process (fast) and once as the installed console script (end to end)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import whosthat
from conftest import BLACKPINK_GROUP, BLACKPINK_MEMBERS
from whosthat.cli import main
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION

FACE_KEYS = {"box", "detection_score", "label", "confidence", "probabilities"}


@pytest.fixture(scope="module")
def photos(kpop_held_out, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of three new photos and a broken file among them, in a sub-folder."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "more").mkdir()
    for name in ["Irene", "Lisa"]:
        shutil.copy(kpop_held_out[name][0], root / f"{name}.jpg")
    shutil.copy(kpop_held_out["Naeun"][0], root / "more" / "Naeun.jpg")
    (root / "more" / "broken.jpg").write_text("not a photo")
    (root / "more" / "notes.txt").write_text("skipped: not an image name")
    return root


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_predict_json_contract(kpop_model_file: Path, kpop_model, photos: Path, capsys):
    status = main(["predict", str(kpop_model_file), str(photos / "Irene.jpg"), str(photos / "more"), "--json"])
    out, err = capsys.readouterr()
    records = _lines(out)
    assert [Path(r["image"]).name for r in records] == ["Irene.jpg", "Naeun.jpg", "broken.jpg"], \
        "one line per image, the folder expanded (sorted, non-images left out)"
    assert status == 1, "a broken input must make the exit status 1"
    for record in records:
        assert set(record) == {"image", "width", "height", "faces", "error"}
    good = [r for r in records if r["error"] is None]
    assert len(good) == 2
    for record in good:
        width, height = Image.open(record["image"]).size
        assert (record["width"], record["height"]) == (width, height)
        assert record["faces"], f"no face in {record['image']}"
        for face in record["faces"]:
            assert set(face) == FACE_KEYS
            x1, y1, x2, y2 = face["box"]
            assert 0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height
            assert 0 <= face["detection_score"] <= 1 and 0 <= face["confidence"] <= 1
            assert face["label"] in kpop_model.classes + ["unknown"]
            assert set(face["probabilities"]) == set(kpop_model.classes)
            assert abs(sum(face["probabilities"].values()) - 1) < 1e-3
    broken = records[-1]
    assert broken["faces"] == [] and "broken.jpg" in broken["error"]
    assert "broken.jpg" in err


def test_predict_annotate(kpop_model_file: Path, photos: Path, tmp_path: Path, capsys):
    out_dir = tmp_path / "annotated"
    status = main(["predict", str(kpop_model_file), str(photos / "Irene.jpg"), str(photos / "Lisa.jpg"),
                   "--annotate", str(out_dir)])
    text = capsys.readouterr().out
    assert status == 0
    assert "Irene.jpg" in text and "Lisa.jpg" in text
    for name in ["Irene", "Lisa"]:
        written = out_dir / f"{name}.jpg"
        assert written.is_file()
        with Image.open(written) as image:
            assert image.format == "JPEG" and image.size == Image.open(photos / f"{name}.jpg").size


def test_train_writes_model_and_prints_evaluation(kpop_train_dir: Path, kpop_held_out, session_cache: Path,
                                                  tmp_path: Path, capsys):
    """Ten members and a newcomer with a single photo, who is trained on and said to have too few."""
    folder = tmp_path / "group"
    folder.mkdir()
    for member in kpop_train_dir.iterdir():
        (folder / member.name).symlink_to(member, target_is_directory=True)
    (folder / "Newcomer").mkdir()
    (folder / "Newcomer" / "only.jpg").symlink_to(kpop_held_out["Irene"][0])
    out = tmp_path / "cli.wt"
    status = main(["train", str(folder), "--embedder", "facenet", "--out", str(out), "--cache-dir", str(session_cache)])
    text = capsys.readouterr().out
    assert status == 0 and out.is_file()
    for words in ["classes: 11", "Newcomer (1 photo)", "too few photos: Newcomer (1)", "split:", "stranger threshold",
                  "accuracy", "confusion", "model written to"]:
        assert words in text, f"{words!r} not in the training summary:\n{text}"
    rejected = float(re.search(r"called ([\d.]+)% of the members unknown", text).group(1))
    assert rejected <= 100 * DEFAULT_MAX_MEMBER_REJECTION, "the calibrated point keeps the promised share of members"


@pytest.fixture
def held_out_folder(kpop_held_out, tmp_path: Path) -> Path:
    """Three held-out photos each of three members, as a test folder (symlinks)."""
    folder = tmp_path / "test"
    for name in ["Irene", "Jihyo", "Naeun"]:
        (folder / name).mkdir(parents=True)
        for photo in kpop_held_out[name][:3]:
            (folder / name / photo.name).symlink_to(photo)
    return folder


def test_evaluate_prints_figures(kpop_model_file: Path, held_out_folder: Path, session_cache: Path, capsys):
    folder = held_out_folder
    assert main(["evaluate", str(kpop_model_file), str(folder), "--cache-dir", str(session_cache)]) == 0
    text = capsys.readouterr().out
    for words in ["accuracy", "top-2", "precision", "recall", "confusion", "Irene", "Jihyo", "Naeun", "trade-off",
                  "members named right", "no photos of strangers"]:
        assert words in text, f"{words!r} not in:\n{text}"
    assert main(["evaluate", str(kpop_model_file), str(folder), "--json", "--cache-dir", str(session_cache)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["photos"] == 9 and 0 <= figures["accuracy"] <= 1 and len(figures["per_class"]) == 10
    assert figures["confusion_columns"][-2:] == ["unknown", "no face"]
    (calibrated,) = [row for row in figures["tradeoff"]["rows"] if row["calibrated"]]
    assert calibrated["members_rejected"] == figures["members_rejected"] and calibrated["strangers_accepted"] is None
    assert f"{calibrated['threshold']:.3f}" in next(line for line in text.splitlines() if line.endswith("calibrated"))


def test_evaluate_leaves_out_what_the_model_learned_from(kpop_model_file: Path, kpop_train_dir: Path,
                                                         session_cache: Path, capsys):
    """Evaluated on the folder it was trained on, the model scores only the photos its split held out for the
    test, and says which it left out."""
    split = whosthat.load(kpop_model_file).training.split.split
    args = ["evaluate", str(kpop_model_file), str(kpop_train_dir), "--cache-dir", str(session_cache)]
    assert main(args) == 0
    text = capsys.readouterr().out
    learned = len(split.train) + len(split.val)
    assert f"left out: {learned} photo(s) the model learned from" in text
    assert main([*args, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["photos"] == len(split.test) and len(figures["left_out_as_training_copies"]) == learned
    assert {Path(p).relative_to(kpop_train_dir).as_posix() for p in figures["left_out_as_training_copies"]} == {
        *split.train, *split.val}


def test_evaluate_at_another_threshold(kpop_model_file: Path, held_out_folder: Path, session_cache: Path, capsys):
    """The lowest threshold names every face (accuracy is then top-1); the highest calls every face unknown."""
    folder = held_out_folder
    figures = {}
    for threshold in ["-1e9", "1e9"]:
        assert main(["evaluate", str(kpop_model_file), str(folder), "--json", f"--threshold={threshold}",
                     "--cache-dir", str(session_cache)]) == 0
        figures[threshold] = json.loads(capsys.readouterr().out)
    assert figures["-1e9"]["accuracy"] == figures["-1e9"]["top1_accuracy"] > 0.5
    assert figures["-1e9"]["members_rejected"] == 0.0
    assert figures["1e9"]["accuracy"] == 0.0 and figures["1e9"]["top1_accuracy"] == figures["-1e9"]["top1_accuracy"]
    assert figures["1e9"]["members_rejected"] == 1 - figures["1e9"]["no_face"] / figures["1e9"]["photos"]


@pytest.mark.parametrize("command", ["train", "predict", "evaluate"])
def test_help_shows_examples(command: str, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and f"whosthat {command} " in text


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert all(c in text for c in ["train", "predict", "evaluate", "examples:"])


@pytest.mark.parametrize("argv", [["predict", "m.wt", "a.jpg", "--no-such-flag"], ["train", "x", "--head", "nope"],
                                  ["frobnicate"], ["train", "x", "--val-fraction", "1.5"]])
def test_usage_errors_exit_2(argv: list[str], capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["train", "{tmp}/no-such-folder", "--out", "{tmp}/m.wt"], "no such folder"),
        (["predict", "{tmp}/no-such-model.wt", "x.jpg"], "no such model file"),
        (["evaluate", "{tmp}/no-such-model.wt", "{tmp}"], "no such model file"),
        (["predict", "{tmp}/not-a-model.wt", "x.jpg"], "not a whosthat model"),
    ],
)
def test_user_errors_are_one_line(argv: list[str], words: str, tmp_path: Path, capsys):
    (tmp_path / "not-a-model.wt").write_text("hello")
    status = main([a.format(tmp=tmp_path) for a in argv])
    captured = capsys.readouterr()
    assert status == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("whosthat: error: ") and words in lines[0], captured.err
    assert "Traceback" not in captured.err


def test_console_script_end_to_end(blackpink_train_dir: Path, session_cache: Path, tmp_path: Path):
    """The installed `whosthat` command with the default embedder (facenet+dlib): train, then name the group photo."""
    script = Path(sys.executable).parent / "whosthat"
    assert script.is_file(), f"console script not installed at {script}"
    env = {**os.environ, "WHOSTHAT_CACHE_DIR": str(session_cache)}
    model = tmp_path / "blackpink.wt"
    train = subprocess.run([str(script), "train", str(blackpink_train_dir), "--out", str(model), "--test-fraction",
                            "0", "--cache-dir", str(session_cache)], capture_output=True, text=True, env=env,
                           timeout=600)
    assert train.returncode == 0, train.stderr
    assert model.is_file() and "model written to" in train.stdout
    predict = subprocess.run([str(script), "predict", str(model), str(BLACKPINK_GROUP), "--json"],
                             capture_output=True, text=True, env=env, timeout=600)
    assert predict.returncode == 0, predict.stderr
    [record] = _lines(predict.stdout)
    faces = sorted(record["faces"], key=lambda f: f["box"][0])
    names = [f["label"] for f in faces]
    print(f"\nGROUP PHOTO facenet+dlib (default, console script): {names}")
    assert (record["width"], record["height"]) == Image.open(BLACKPINK_GROUP).size
    assert sorted(names) == sorted(BLACKPINK_MEMBERS), "not the four members, once each"
    assert names == ["lisa_manoban", "jennie_kim", "jisoo_kim", "rose_park"]
