"""`whosthat train` on drawn characters with the defaults: it picks the picture pipeline (and its head) itself and
says why."""

from __future__ import annotations

from pathlib import Path

import pytest

import whosthat
from whosthat.cli import main


def test_default_training_on_anime_crops(anime_train_dir: Path, anime_test_dir: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "anime.wt"
    assert main(["train", str(anime_train_dir), "--test-dir", str(anime_test_dir), "--out", str(out),
                 "--no-report"]) == 0
    text = capsys.readouterr().out
    assert "subject: image" in text or "subject: character" in text, text
    assert "cross-validated" in text
    model = whosthat.load(out)
    assert model.embedder.name == "mobilenetv2+efficientnet-lite0"
    assert model.recogniser.head == "svm"  # the default head on ImageNet features; on face embeddings, logistic
    assert model.training.subject_chosen_by.startswith(("image", "character"))
    assert model.test.metrics.accuracy >= 0.9
    assert main(["predict", str(out), str(anime_test_dir / "yagami_kou"), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sum('"label": "yagami_kou"' in line for line in lines) >= len(lines) - 1
