"""The report's figures, drawn with matplotlib (Agg) and returned as inline PNG data URLs."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.offsetbox import AnnotationBbox, OffsetImage  # noqa: E402
from PIL import Image  # noqa: E402

from whosthat.models.records import ClassScores, EpochStats  # noqa: E402
from whosthat.recognition.openset import ThresholdCurve  # noqa: E402
from whosthat.report.images import data_url  # noqa: E402

SPLIT_COLOURS = {"train": "#4878d0", "validation": "#ee854a", "test": "#6acc64"}


@dataclass(frozen=True)
class MapPoint:
    """One photo on the embedding map: 2-D position, class index and an optional face thumbnail."""

    x: float
    y: float
    label: int
    thumbnail: Optional[Image.Image] = None


def class_colours(n: int) -> list:
    """A distinct colour per class (tab10, then tab20 for larger groups)."""
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(i % cmap.N) for i in range(n)]


def png_url(figure: Figure) -> str:
    """The figure as an inline PNG; the figure is closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return data_url(buffer.getvalue(), "image/png")


def _height(rows: int) -> float:
    return max(3.0, 0.35 * rows + 1.5)


def class_distribution(classes: Sequence[str], counts: Mapping[str, Sequence[int]],
                       title: str = "Photos per class and split") -> str:
    """Photos per class in each split (stacked horizontal bars, the totals written out); one series, no legend."""
    figure, axes = plt.subplots(figsize=(8, _height(len(classes))))
    left = np.zeros(len(classes))
    positions = np.arange(len(classes))
    for split, values in counts.items():
        widths = np.asarray(values, float)
        axes.barh(positions, widths, left=left, label=split, color=SPLIT_COLOURS.get(split))
        left += widths
    for y, total in enumerate(left):
        axes.text(total, y, f" {int(total)}", va="center", fontsize=9)
    axes.set_yticks(positions, classes)
    axes.invert_yaxis()
    axes.set_xlabel("photos")
    axes.set_xlim(0, max(left.max(), 1) * 1.12)
    axes.set_title(title)
    if len(counts) > 1:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="split")
    return png_url(figure)


def training_history(history: Sequence[EpochStats], best_epoch: Optional[int] = None) -> str:
    """Loss and accuracy per epoch, training against validation; the epoch whose weights were kept is marked."""
    epochs = [row.epoch for row in history]
    figure, (loss, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for axes, key, title in ((loss, "loss", "Loss per epoch"), (accuracy, "accuracy", "Accuracy per epoch")):
        axes.plot(epochs, [getattr(row, f"train_{key}") for row in history], "o-", label="training")
        axes.plot(epochs, [getattr(row, f"val_{key}") for row in history], "s-", label="validation")
        axes.set_xlabel("epoch")
        axes.set_ylabel(key)
        axes.set_title(title)
        axes.grid(alpha=0.3)
        if best_epoch is not None:
            axes.axvline(best_epoch, color="black", linestyle="--", linewidth=1, label=f"kept (epoch {best_epoch})")
        axes.legend()
    accuracy.set_ylim(0, 1.02)
    accuracy.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    return png_url(figure)


def confusion_heatmap(matrix: np.ndarray, rows: Sequence[str], columns: Sequence[str]) -> str:
    """Counts of true (rows) against predicted (columns), shaded by share of the row."""
    matrix = np.asarray(matrix)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axes = plt.subplots(figsize=(max(5.0, 0.6 * len(columns) + 3), max(4.0, 0.5 * len(rows) + 2)))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (r, c), value in np.ndenumerate(matrix):
        if value:
            axes.text(c, r, str(value), ha="center", va="center", fontsize=9,
                      color="white" if shares[r, c] > 0.5 else "black")
    axes.set_xticks(range(len(columns)), columns, rotation=45, ha="right")
    axes.set_yticks(range(len(rows)), rows)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title("Confusion matrix (test photos)")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    return png_url(figure)


def class_scores(rows: Sequence[ClassScores]) -> str:
    """Precision, recall and F1 of each class as grouped horizontal bars."""
    names = [row.name for row in rows]
    figure, axes = plt.subplots(figsize=(8, _height(2 * len(rows))))
    positions = np.arange(len(rows))
    for k, (key, colour) in enumerate((("precision", "#4878d0"), ("recall", "#ee854a"), ("f1", "#6acc64"))):
        axes.barh(positions + (k - 1) * 0.27, [getattr(row, key) for row in rows], height=0.27,
                  label=key.replace("f1", "F1"), color=colour)
    axes.set_yticks(positions, names)
    axes.invert_yaxis()
    axes.set_xlim(0, 1.0)
    axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes.set_xlabel("score on test photos")
    axes.set_title("Precision, recall and F1 per class")
    axes.legend(loc="lower left", bbox_to_anchor=(1.0, 0.0))
    axes.grid(axis="x", alpha=0.3)
    return png_url(figure)


def stranger_curve(curve: ThresholdCurve, at: int) -> str:
    """Both error rates against the threshold, and their trade-off up to a quarter of the members rejected (or
    three times the chosen share), with the chosen point `at` marked; the others given to training
    (`curve.negatives_accepted`) get their own line where there were any."""
    thresholds, strangers_accepted = curve.thresholds, curve.strangers_accepted
    members_rejected, negatives_accepted = curve.members_rejected, curve.negatives_accepted
    chosen = thresholds[at]
    shares = [strangers_accepted, members_rejected] + ([negatives_accepted] if negatives_accepted is not None else [])
    spread = np.flatnonzero(np.any([(share > 0) & (share < 1) for share in shares], axis=0))
    margin = 0.05 * (thresholds[-1] - thresholds[0])
    low, high = (thresholds[spread[0]] - margin, thresholds[spread[-1]] + margin) if len(spread) else \
        (thresholds[0], thresholds[-1])
    figure, (rates, trade) = plt.subplots(1, 2, figsize=(12, 4.5))
    rates.plot(thresholds, strangers_accepted, label="strangers named (members held out)", color="#d62728")
    if negatives_accepted is not None:
        rates.plot(thresholds, negatives_accepted, label="others named (train --others)", color="#ff7f0e")
    rates.plot(thresholds, members_rejected, label="members rejected (called unknown)", color="#1f77b4")
    rates.axvline(chosen, color="black", linestyle="--", linewidth=1)
    rates.annotate(f"chosen {chosen:.2f}", (chosen, 0.95), xytext=(6, 0), textcoords="offset points", fontsize=9)
    rates.set_xlim(low, high)
    rates.set_xlabel("stranger threshold (stranger score)")
    rates.set_ylabel("share of held-out photos")
    rates.set_title("Error rates as the threshold moves")
    rates.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), fontsize=9, ncol=1)
    trade.plot(members_rejected, strangers_accepted, color="#555555", label="strangers (members held out)")
    if negatives_accepted is not None:
        trade.plot(members_rejected, negatives_accepted, color="#ff7f0e", label="others (train --others)")
        trade.legend(loc="upper right", fontsize=9)
    trade.plot([members_rejected[at]], [strangers_accepted[at]], "o", color="black", markersize=9)
    trade.annotate(f"chosen: {members_rejected[at]:.0%} members rejected,\n{strangers_accepted[at]:.0%} strangers "
                   "accepted", (members_rejected[at], strangers_accepted[at]), xytext=(12, 8),
                   textcoords="offset points", fontsize=9)
    trade.set_xlim(-0.01, min(1.0, max(0.25, 3 * members_rejected[at])))
    trade.set_xlabel("members rejected")
    trade.set_ylabel("strangers accepted")
    trade.set_title("Trade-off (each point a threshold)")
    for axes in (rates, trade):
        axes.grid(alpha=0.3)
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    trade.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
    return png_url(figure)


def embedding_map(points: Sequence[MapPoint], classes: Sequence[str]) -> str:
    """The training faces in 2-D (t-SNE), a dot per photo coloured by class, thumbnails framed in that colour."""
    colours = class_colours(len(classes))
    figure, axes = plt.subplots(figsize=(11, 8.5))
    xs = np.array([p.x for p in points])
    ys = np.array([p.y for p in points])
    labels = np.array([p.label for p in points])
    for c, name in enumerate(classes):
        mine = labels == c
        axes.scatter(xs[mine], ys[mine], s=18, color=colours[c], label=name, zorder=2)
    for point in points:
        if point.thumbnail is not None:
            box = AnnotationBbox(OffsetImage(np.asarray(point.thumbnail), zoom=0.5), (point.x, point.y),
                                 frameon=True, pad=0.1, bboxprops={"edgecolor": colours[point.label], "linewidth": 2})
            box.set_zorder(3)
            axes.add_artist(box)
    axes.set_title("Training faces in 2-D (t-SNE of the embeddings): near means alike")
    axes.set_xlabel("t-SNE 1")
    axes.set_ylabel("t-SNE 2")
    axes.set_xticks([])
    axes.set_yticks([])
    axes.margins(0.08)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), title="class", markerscale=1.5)
    return png_url(figure)
