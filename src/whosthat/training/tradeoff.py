"""The stranger threshold's trade-off on labelled photos: which thresholds get a row, and the table of them.

A row gives, at one threshold, the member photos whose member is among the names given, the member photos
whose member went unnamed because a face was called unknown, and the stranger photos given a member's name
(`whosthat.training.evaluate.Evaluation`'s figures, re-decided at that threshold). Rows are picked where
1, 2, 3, 5 and 10 % of the member photos are rejected, beside the calibrated threshold and any one given,
and each picked threshold is rounded so that `--threshold` with it as printed gives the figures shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from whosthat.models.protocol import Namer
from whosthat.vision.extract import Subjects

#: Shares of the member photos rejected at which the trade-off picks a threshold.
REJECTION_TARGETS = (0.01, 0.02, 0.03, 0.05, 0.10)
#: Decimals of a picked threshold (as printed, and as `--threshold` takes it back).
DECIMALS = 3


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold the trade-off gives a row for, and why: the model's calibrated one, the one given instead
    (`--threshold`), or the one picked for a share of member photos rejected (`target`)."""

    threshold: float
    calibrated: bool = False
    given: bool = False
    target: Optional[float] = None

    @property
    def mark(self) -> str:
        """What the text table writes beside the row: which threshold it is, if not only a picked one."""
        return " and ".join(word for word, flag in (("calibrated", self.calibrated),
                                                    ("given (--threshold)", self.given)) if flag)


@dataclass(frozen=True)
class TradeoffRow:
    """The photos' figures at one operating point (`Evaluation`'s properties of the same names):
    strangers_accepted is None when no photo was of a stranger."""

    point: OperatingPoint
    accuracy: float
    among_names_accuracy: float
    members_rejected: float
    strangers_accepted: Optional[float]

    @property
    def figures(self) -> tuple[float, float, float, Optional[float]]:
        return self.accuracy, self.among_names_accuracy, self.members_rejected, self.strangers_accepted

    def to_dict(self) -> dict:
        """The JSON form: the threshold, why it is there, and the figures."""
        return {"threshold": self.point.threshold, "calibrated": self.point.calibrated, "given": self.point.given,
                "target_members_rejected": self.point.target, "accuracy": self.accuracy,
                "among_names_accuracy": self.among_names_accuracy, "members_rejected": self.members_rejected,
                "strangers_accepted": self.strangers_accepted}


@dataclass(frozen=True)
class Tradeoff:
    """The rows, by rising threshold (members rejected rise, strangers named fall), and the photos scored."""

    rows: tuple[TradeoffRow, ...]
    member_photos: int
    stranger_photos: int

    def to_dict(self) -> dict:
        return {"member_photos": self.member_photos, "stranger_photos": self.stranger_photos,
                "rows": [row.to_dict() for row in self.rows]}

    def format_text(self) -> str:
        """The table, a row per threshold; without strangers, a line saying so in place of their column."""
        strangers = self.stranger_photos > 0
        lines = [f"the stranger threshold's trade-off on these photos ({self.member_photos} of members"
                 + (f", {self.stranger_photos} of strangers" if strangers else "") + ");",
                 "a row's threshold goes to `predict --threshold` as printed:",
                 f"{'threshold':>11}  members named right  members rejected" + ("  strangers named" if strangers
                                                                                else "")]
        for row in self.rows:
            cells = f"{row.point.threshold:>11.{DECIMALS}f}  {row.among_names_accuracy:>19.1%}  " \
                    f"{row.members_rejected:>16.1%}"
            if row.strangers_accepted is not None:
                cells += f"  {row.strangers_accepted:>15.1%}"
            lines.append(f"{cells}  {row.point.mark}".rstrip())
        if not strangers:
            lines.append("no photos of strangers: a sub-folder named after somebody the model does not know is "
                         "scored as strangers")
        return "\n".join(lines)


def operating_points(calibrated: float, given: Optional[float], picked: Sequence[tuple[float, float]]
                     ) -> list[OperatingPoint]:
    """The calibrated threshold, the given one and the picked (target, threshold) pairs, one point per
    threshold (the smallest target kept), by rising threshold."""
    points: dict[float, OperatingPoint] = {}
    for point in [OperatingPoint(calibrated, calibrated=True)] + \
                 ([OperatingPoint(given, given=True)] if given is not None else []) + \
                 [OperatingPoint(threshold, target=target) for target, threshold in picked]:
        seen = points.get(point.threshold)
        points[point.threshold] = point if seen is None else replace(
            seen, calibrated=seen.calibrated or point.calibrated, given=seen.given or point.given,
            target=seen.target if seen.target is not None else point.target)
    return [points[t] for t in sorted(points)]


def without_repeats(rows: Sequence[TradeoffRow]) -> tuple[TradeoffRow, ...]:
    """The rows less each picked one whose figures are those of the calibrated or the given row (it says nothing
    more), that row taking the smallest target of those it stands for."""
    marks = [row for row in rows if row.point.calibrated or row.point.given]

    def merged(mark: TradeoffRow) -> TradeoffRow:
        targets = [r.point.target for r in rows if r.figures == mark.figures and r.point.target is not None]
        return replace(mark, point=replace(mark.point, target=min(targets))) if targets else mark

    return tuple(merged(row) if row in marks else row for row in rows
                 if row in marks or all(row.figures != mark.figures for mark in marks))


def member_scores(namer: Namer, truth: Sequence[int], subjects: Sequence[Subjects]) -> np.ndarray:
    """For each member photo whose member some face can get, the highest threshold at which the member is
    among the photo's names. A face gets the member only when its stranger scores for the member and for
    its most probable class both reach the threshold, so the lower of the two, on each face, is the
    highest threshold that face can get the member at; the first of these, from the top, at which the
    photo's names include the member is the photo's. Other photos give none."""
    scores = []
    for label, found in zip(truth, subjects):
        if label < 0 or found.error is not None or not len(found.faces):
            continue
        evidence = namer.evidence(found.embeddings)
        faces = np.arange(len(found.faces))
        best = evidence.probabilities.argmax(axis=1)
        highest = np.minimum(evidence.stranger[faces, label], evidence.stranger[faces, best])
        member = namer.classes[label]
        score = next((float(limit) for limit in sorted(set(highest.tolist()), reverse=True)
                      if member in namer.name_subjects(found, threshold=float(limit)).labels), None)
        if score is not None:
            scores.append(score)
    return np.asarray(scores, np.float64)


def rejection_thresholds(scores: np.ndarray, member_photos: int, rejected_at: Callable[[float], float],
                         targets: Sequence[float] = REJECTION_TARGETS) -> list[tuple[float, float]]:
    """(target, threshold) for each target share of the `member_photos`: the highest of the thresholds that
    leave that share of them (rounded down to whole photos), or fewer, among the `scores` under them at
    which `rejected_at` (the share of member photos rejected, measured) is within the target. None
    without scores (no member photo gets its member at any threshold)."""
    ordered = np.sort(scores)
    picked = []
    for target in targets if len(ordered) else ():
        below = min(int(target * member_photos + 1e-9), len(ordered))
        threshold = threshold_under(ordered, below)
        while below > 0 and rejected_at(threshold) > target:
            below -= 1
            threshold = threshold_under(ordered, below)
        picked.append((target, threshold))
    return picked


def threshold_under(ordered: np.ndarray, below: int) -> float:
    """A threshold with the first `below` of the rising `ordered` scores under it and the others at or over
    it: halfway between two scores, rounded to DECIMALS (and under or over them all at the ends)."""
    scale = 10 ** DECIMALS
    if below == 0:
        return math.floor(ordered[0] * scale) / scale
    if below == len(ordered):
        return math.ceil(ordered[-1] * scale) / scale + 1 / scale
    return round(float(ordered[below - 1] + ordered[below]) / 2, DECIMALS)
