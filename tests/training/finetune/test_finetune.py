"""Fine-tuning for real: a network trained on anime crops, a checkpoint per epoch, resume after a kill, and
each photo detected once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import whosthat
from whosthat.training.finetune import RECIPES, finetune
from whosthat.training.finetune.chips import subject_chip
from whosthat.vision.detectors import create_detector
from whosthat.vision.detectors.whole import WholeImage


def _chips(folder: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    whole = create_detector("whole")
    chips, labels = [], []
    for k, person in enumerate(sorted(p for p in folder.iterdir() if p.is_dir())):
        for path in sorted(person.iterdir()):
            chips.append(subject_chip(path, whole, size))
            labels.append(k)
    return np.stack(chips), np.array(labels)


def test_mobilenetv2_learns_the_characters(anime_train_dir: Path, anime_test_dir: Path, tmp_path: Path) -> None:
    X, y = _chips(anime_train_dir, 224)
    X_test, y_test = _chips(anime_test_dir, 224)
    messages: list[str] = []
    result = finetune("mobilenetv2", X, y, X_test, y_test, 4, recipe=RECIPES["mobilenetv2"].with_overrides(epochs=6),
                      checkpoint=tmp_path / "run.checkpoint", log=messages.append)
    assert [e.epoch for e in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert max(e.val_accuracy for e in result.history) >= 0.7  # chance is 25 %
    assert (tmp_path / "run.checkpoint").is_file()
    assert any("CPU" in m for m in messages) or result.device.startswith("cuda")
    assert set(result.state) and all(isinstance(v, np.ndarray) for v in result.state.values())
    best = min(result.history, key=lambda e: e.val_loss)
    assert result.best_epoch == best.epoch
    why = "stopped early, no better validation loss in 4 epochs" if result.stopped_early else "all 6 epochs run"
    assert messages[-1] == f"kept epoch {best.epoch}, validation loss {best.val_loss:.3f} ({why})"


class _Stop(Exception):
    pass


def test_resumed_run_continues_the_moving_average(anime_train_dir: Path, anime_test_dir: Path, tmp_path: Path) -> None:
    """Stopped after epoch 1 and resumed, MobileNetV2 ends with the same weights as a run never stopped: the
    moving average of the weights (what is judged and kept) comes back from the checkpoint with the rest."""
    X, y = _chips(anime_train_dir, 224)
    X_val, y_val = _chips(anime_test_dir, 224)
    recipe = RECIPES["mobilenetv2"].with_overrides(epochs=2)
    assert recipe.ema_epochs > 0
    whole = finetune("mobilenetv2", X, y, X_val, y_val, 4, recipe=recipe, log=lambda message: None)

    def stop_in_epoch_2(message: str) -> None:
        if message.startswith("epoch 2/"):
            raise _Stop

    checkpoint = tmp_path / "run.checkpoint"
    with pytest.raises(_Stop):
        finetune("mobilenetv2", X, y, X_val, y_val, 4, recipe=recipe, checkpoint=checkpoint, log=stop_in_epoch_2)
    resumed = finetune("mobilenetv2", X, y, X_val, y_val, 4, recipe=recipe, checkpoint=checkpoint, resume=True,
                       log=lambda message: None)
    assert resumed.resumed_from == 1 and resumed.best_epoch == whole.best_epoch
    assert [round(e.val_loss, 4) for e in resumed.history] == [round(e.val_loss, 4) for e in whole.history]
    for name, value in whole.state.items():
        np.testing.assert_allclose(resumed.state[name], value, atol=1e-4, err_msg=name)


def _train_command(folder: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "whosthat.cli", "train", str(folder), "--out", str(out), "--subject", "image",
            "--finetune", "tutorial-cnn", "--no-report", *extra]


def test_interrupted_finetuning_resumes_from_its_checkpoint(anime_train_dir: Path, anime_test_dir: Path,
                                                             tmp_path: Path, session_cache: Path) -> None:
    out = tmp_path / "cnn.wt"
    checkpoint = Path(f"{out}.checkpoint")
    command = _train_command(anime_train_dir, out, "--epochs", "6", "--test-dir", str(anime_test_dir))
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert checkpoint.is_file(), first.stdout.read()
    assert not out.exists()

    done = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming from" in done.stdout
    model = whosthat.load(out)
    record = model.training.finetune
    assert record.resumed_from >= 1
    assert [e.epoch for e in record.history] == list(range(1, len(record.history) + 1))
    assert record.architecture == "tutorial-cnn" and record.recipe["optimizer"] == "sgd"
    assert not checkpoint.exists(), "the checkpoint is removed once the model is written"
    assert model.predict(next(anime_test_dir.rglob("*.jpg"))).labels


def test_resume_refuses_a_checkpoint_of_other_settings(anime_train_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cnn.wt"
    checkpoint = Path(f"{out}.checkpoint")
    first = subprocess.Popen(_train_command(anime_train_dir, out, "--epochs", "6"), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not checkpoint.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert checkpoint.is_file()
    again = subprocess.run(_train_command(anime_train_dir, out, "--epochs", "9", "--resume"),
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 2
    assert "checkpoint is of another run" in again.stderr


def test_finetuning_detects_each_photo_once(anime_train_dir: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The subjects found for fine-tuning are cached; embedding with the trained network finds them there."""
    detected: list[int] = []
    real = WholeImage.detect
    monkeypatch.setattr(WholeImage, "detect", lambda self, image: detected.append(1) or real(self, image))
    model = whosthat.train(anime_train_dir, subject="image", finetune="tutorial-cnn", epochs=1, test_fraction=0.0,
                           cache_dir=tmp_path / "cache")
    photos = sum(1 for p in anime_train_dir.rglob("*") if p.is_file())
    assert len(detected) == photos and len(model.reference.X) == photos


@pytest.mark.slow
def test_finetuned_model_names_held_out_crops(anime_train_dir: Path, anime_test_dir: Path, tmp_path: Path) -> None:
    model = whosthat.train(anime_train_dir, subject="image", finetune="efficientnet-lite0", epochs=6,
                           test_dir=anime_test_dir, out=tmp_path / "lite.wt")
    assert model.test.metrics.accuracy >= 0.85
    assert whosthat.load(tmp_path / "lite.wt").embedder.name == "finetuned"
