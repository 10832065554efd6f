"""`whosthat report`: the self-contained HTML report of a trained model, its figures and its data."""

from __future__ import annotations

import base64
import io
import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import whosthat
from conftest import KPOP15, images_of, link_tree
from whosthat.cli import main
from whosthat.models.model import Model
from whosthat.models.records import EpochStats, FinetuneLog
from whosthat.recognition.openset import DEFAULT_MAX_MEMBER_REJECTION
from whosthat.report import HEADINGS, write_report
from whosthat.report.build import MAX_GALLERY
from whosthat.training.evaluate import NO_FACE, UNKNOWN
from whosthat.vision.cache import EmbeddingCache

HISTORY = tuple(EpochStats(e, train_loss=1.8 / e, train_accuracy=1 - 0.5 / e, val_loss=2.0 / e + 0.05 * e,
                           val_accuracy=0.9 - 0.4 / e, lr=1e-3, seconds=1.0) for e in range(1, 9))


def inline_images(page: str) -> list[Image.Image]:
    """Every data-URL image of a page, decoded (each must be a whole, readable image)."""
    images = []
    for _mime, data in re.findall(r'src="data:image/(png|jpeg);base64,([A-Za-z0-9+/=]+)"', page):
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        image.load()
        images.append(image)
    return images


def section(page: str, anchor: str) -> str:
    """The HTML of one section of the page."""
    return re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S).group(1)


@pytest.fixture(scope="module")
def kpop_report(kpop_model: Model, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_report(kpop_model, tmp_path_factory.mktemp("report") / "kpop.html").read_text()


def test_the_model_records_what_the_report_needs(kpop_model: Model) -> None:
    outcomes = kpop_model.test.outcomes()
    metrics = kpop_model.test.metrics
    assert len(outcomes) == metrics.photos > 0
    assert all(o.path.is_file() for o in outcomes)
    confusion = metrics.confusion
    wrong_members = sum(o.wrong for o in outcomes if o.truth >= 0)
    assert wrong_members == confusion.sum() - np.trace(confusion)
    for o in outcomes:
        if o.predicted != NO_FACE:
            width, height = Image.open(o.path).size
            x1, y1, x2, y2 = o.box
            assert 0 <= x1 < x2 <= width + 1 and 0 <= y1 < y2 <= height + 1
    recorded = kpop_model.training.reference_photos
    assert len(recorded.paths) == len(kpop_model.reference.X) == len(recorded.boxes)
    root = Path(recorded.root)
    assert all((root / p).is_file() for p in recorded.paths)
    assert [kpop_model.classes.index(p.split("/")[0]) for p in recorded.paths] == kpop_model.reference.y.tolist()


def test_threshold_section_lists_other_operating_points(kpop_report: str, kpop_model: Model) -> None:
    """The default point is the model's own threshold, marked; asking fewer members to be lost lowers it."""
    threshold = section(kpop_report, "threshold")
    rows = re.findall(r"<tr><td[^>]*>([\d.]+)</td><td[^>]*>(-?[\d.]+)</td><td[^>]*>([\d.]+)%</td>"
                      r"<td[^>]*>([\d.]+)%</td><td>(calibrated)?</td></tr>", threshold)
    points = {float(share): (float(t), float(members), float(strangers), mark)
              for share, t, members, strangers, mark in rows}
    assert sorted(points) == [0.01, 0.02, 0.03, 0.05, 0.1, 0.2]
    assert f"{points[DEFAULT_MAX_MEMBER_REJECTION][0]:.3f}" == f"{kpop_model.threshold:.3f}"
    assert {k for k in points if points[k][3]} == {k for k in points if points[k][0] == points[0.03][0]}
    thresholds = [points[k][0] for k in sorted(points)]
    assert thresholds == sorted(thresholds)
    assert all(points[k][1] <= 100 * k + 1e-9 for k in points), "members called unknown within each share"
    assert "others named" not in threshold, "no column for others the model was not given"
    assert "No test photos of strangers" in threshold, "the kpop model's test photos are all of members"


def test_report_has_every_section_and_only_inline_images(kpop_report: str, kpop_model: Model) -> None:
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in kpop_report
    assert "http://" not in kpop_report and "https://" not in kpop_report and "<script" not in kpop_report
    assert not re.search(r'src="(?!data:)', kpop_report), "every image is inline"
    images = inline_images(kpop_report)
    assert sum(i.format == "PNG" for i in images) == 5, "distribution, confusion, scores, threshold, map"
    assert all(i.width > 300 for i in images if i.format == "PNG")
    scores = section(kpop_report, "scores")
    for row in kpop_model.test.metrics.per_class:
        assert f"<td>{row.name}</td>" in scores
        assert f"{row.f1:.1%}" in scores
    assert "Not fine-tuned" in section(kpop_report, "history")
    assert "a thumbnail on" in section(kpop_report, "map") and "no longer on disk" not in kpop_report


def test_misclassified_gallery_worst_first(kpop_report: str, kpop_model: Model) -> None:
    outcomes = kpop_model.test.outcomes()
    wrong = [o for o in outcomes if o.wrong]
    gallery = section(kpop_report, "misclassified")
    cards = re.findall(r'<div class="card">(.*?)</div></div>', gallery + "</div>", re.S)
    assert len(re.findall('class="card"', gallery)) == min(len(wrong), MAX_GALLERY)
    if not wrong:
        assert "named correctly" in gallery
        return
    named = sorted((o for o in wrong if o.predicted >= 0), key=lambda o: -o.confidence)
    first = named[0] if named else wrong[0]
    assert first.path.name in cards[0]
    true_name = kpop_model.classes[first.truth] if first.truth >= 0 else "a stranger"
    assert f"true: {true_name}" in cards[0]
    unknown = [o for o in wrong if o.predicted == UNKNOWN]
    if unknown:
        assert "predicted: unknown" in gallery


def test_finetune_history_is_plotted(kpop_model_file: Path, tmp_path: Path) -> None:
    model = whosthat.load(kpop_model_file)
    model.training = replace(model.training, finetune=FinetuneLog("mobilenetv2", {}, HISTORY, best_epoch=6,
                                                                  stopped_early=True, device="cpu"))
    page = write_report(model, tmp_path / "tuned.html").read_text()
    history = section(page, "history")
    (plot,) = inline_images(history)
    assert plot.format == "PNG" and plot.width > 600
    assert "8 epochs; the weights of epoch 6 are kept: validation accuracy 83.3%" in history
    assert "Not fine-tuned" not in history


def test_report_when_the_photos_are_gone(kpop_model_file: Path, tmp_path: Path) -> None:
    """Photos moved after training: the report says so on each card and still draws every figure."""
    model = whosthat.load(kpop_model_file)
    moved = str(tmp_path / "moved")
    model.training = replace(model.training, reference_photos=replace(model.training.reference_photos, root=moved),
                             test=replace(model.test, root=moved))
    page = write_report(model, tmp_path / "gone.html").read_text()
    assert sum(i.format == "PNG" for i in inline_images(page)) == 5
    assert "no longer on disk: drawn as dots only" in section(page, "map")
    if any(o.wrong for o in model.test.outcomes()):
        assert "photo not found" in section(page, "misclassified")
        assert "photos are no longer on disk" in section(page, "misclassified")


def test_report_of_a_model_without_test_photos(blackpink_model: Model, tmp_path: Path) -> None:
    page = write_report(blackpink_model, tmp_path / "blackpink.html").read_text()
    assert "No test photos" in section(page, "confusion")
    assert "No test photos recorded" in section(page, "misclassified")
    assert "several faces" in section(page, "notes")
    assert sum(i.format == "PNG" for i in inline_images(page)) == 3, "distribution, threshold, map"


def test_report_command(kpop_model_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model_file = tmp_path / "kpop model.wt"
    model_file.symlink_to(kpop_model_file)
    assert main(["report", str(model_file)]) == 0
    assert (tmp_path / "kpop model.html").is_file()
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'kpop model.html'}"
    assert main(["report", str(model_file), "--out", str(tmp_path / "out" / "r.html")]) == 0
    assert (tmp_path / "out" / "r.html").stat().st_size > 50_000
    assert oct((tmp_path / "out" / "r.html").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert main(["report", str(tmp_path / "missing.wt")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"whosthat: error: {tmp_path / 'missing.wt'}: no such model file"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_train_writes_the_report_beside_the_model(kpop_train_dir: Path, kpop_model: Model, session_cache: Path,
                                                   tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    common = [str(kpop_train_dir), "--subject", "face", "--embedder", "facenet", "--cache-dir", str(session_cache)]
    assert main(["train", *common, "--out", str(tmp_path / "a.wt")]) == 0
    assert f"report: {tmp_path / 'a.html'}" in capsys.readouterr().out
    page = (tmp_path / "a.html").read_text()
    assert all(f"<h2>{heading}</h2>" in page for heading in HEADINGS)
    assert main(["train", *common, "--out", str(tmp_path / "b.wt"), "--no-report"]) == 0
    assert "report:" not in capsys.readouterr().out
    assert (tmp_path / "b.wt").is_file() and not (tmp_path / "b.html").exists()


@pytest.fixture(scope="module")
def tested_with_others(kpop_train_dir: Path, kpop_held_out: dict, session_cache: Path,
                       tmp_path_factory: pytest.TempPathFactory) -> tuple[Model, Path, str]:
    """The kpop model's photos with others given (Arin, Dahyun) and a test folder of members and strangers (Sana,
    Yeji): the model, its test folder and its report."""
    root = tmp_path_factory.mktemp("with-others")
    others = link_tree(root / "others", {name: images_of(KPOP15 / name)[:6] for name in ("Arin", "Dahyun")})
    test = link_tree(root / "test", {"Irene": kpop_held_out["Irene"][:2], "Lisa": kpop_held_out["Lisa"][:2],
                                     "Jihyo": kpop_held_out["Jihyo"][:6], "Naeun": kpop_held_out["Naeun"][:6],
                                     "Sana": images_of(KPOP15 / "Sana")[:2], "Yeji": images_of(KPOP15 / "Yeji")[:6]})
    model = whosthat.train(kpop_train_dir, test_dir=test, others=others, subject="face", embedder="facenet",
                           cache_dir=session_cache)
    page = write_report(model, root / "report.html", cache=EmbeddingCache(session_cache)).read_text()
    return model, test, page


def test_report_of_a_model_with_its_own_test_folder(tested_with_others: tuple[Model, Path, str]) -> None:
    """Test photos from `--test-dir`, strangers among them: outcomes point into that folder, strangers get a row."""
    model, test, page = tested_with_others
    outcomes = model.test.outcomes()
    assert sorted(o.path for o in outcomes) == sorted(test.glob("*/*"))
    assert [o.truth for o in outcomes if o.path.parent.name == "Sana"] == [-1, -1]
    distribution = section(page, "classes")
    assert "<td>Sana (stranger)</td>" in distribution
    assert re.search(r"<td>Irene</td><td class=\"num\">\d+</td><td class=\"num\">\d+</td><td class=\"num\">2</td>",
                     distribution)


def test_the_others_and_the_test_strangers_have_their_trade_off(tested_with_others: tuple[Model, Path, str]) -> None:
    """The calibration's table gets the others' column; the test photos, strangers among them, get their own table,
    whose calibrated row is what training recorded of them."""
    model, _, page = tested_with_others
    threshold = section(page, "threshold")
    curve = re.search(r"<table>(.*?)</table>", threshold, re.S).group(1)
    assert "<th>others named (train --others)</th>" in curve
    negatives = model.calibration.negatives_accepted
    assert re.search(rf"<td[^>]*>{model.threshold:.3f}</td>(<td[^>]*>[\d.]+%</td>){{2}}<td[^>]*>{negatives:.1%}</td>"
                     r"<td>calibrated</td>", curve)
    tables = re.findall(r"<table>(.*?)</table>", threshold, re.S)
    assert len(tables) == 2 and "<th>strangers named</th>" in tables[1]
    rows = re.findall(r"<tr><td[^>]*>(-?[\d.]+)</td><td[^>]*>([\d.]+)%</td><td[^>]*>([\d.]+)%</td>"
                      r"<td[^>]*>([\d.]+)%</td><td>([^<]*)</td></tr>", tables[1])
    assert len(rows) >= 2
    thresholds = [float(r[0]) for r in rows]
    rejected, strangers = [float(r[2]) for r in rows], [float(r[3]) for r in rows]
    assert thresholds == sorted(thresholds) and rejected == sorted(rejected)
    assert strangers == sorted(strangers, reverse=True) and strangers[0] > strangers[-1]
    (calibrated,) = [r for r in rows if r[4] == "calibrated"]
    metrics = model.test.metrics
    assert calibrated[1:4] == (f"{100 * metrics.among_names_accuracy:.1f}", f"{100 * metrics.members_rejected:.1f}",
                               f"{100 * metrics.strangers_accepted:.1f}")


def test_the_map_layout_is_kept_for_a_retrain(kpop_embeddings: dict[str, np.ndarray], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch):
    """The t-SNE layout of the same faces is read back from the cache folder (a warm retrain draws the same map
    without laying it out again); a damaged kept layout is laid out again."""
    from whosthat.report.build import _layout

    monkeypatch.setenv("WHOSTHAT_CACHE_DIR", str(tmp_path))
    X = np.concatenate(list(kpop_embeddings.values()))
    first = _layout(X, 0)
    [kept] = (tmp_path / "maps").iterdir()
    assert first.shape == (len(X), 2) and np.isfinite(first).all()
    kept.write_bytes(kept.read_bytes()[:40])
    np.testing.assert_allclose(_layout(X, 0), first)  # laid out again: t-SNE with its seed gives the same map
    stamp = kept.stat().st_mtime_ns
    np.testing.assert_array_equal(_layout(X, 0), first)
    assert kept.stat().st_mtime_ns == stamp  # read, not written again
    _layout(X[::2], 0)
    assert len(list((tmp_path / "maps").iterdir())) == 2  # other faces, another layout
