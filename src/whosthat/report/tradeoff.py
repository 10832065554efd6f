"""The report's tables of the stranger threshold's trade-off: the calibration's curve at chosen points (the
simulated strangers and the others given to training apart), and the test photos re-decided at other thresholds
where they hold strangers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from whosthat.models.protocol import Namer
from whosthat.recognition.openset import Calibration
from whosthat.report.html import paragraph, table
from whosthat.training.evaluate import evaluate_subjects
from whosthat.training.tradeoff import DECIMALS, REJECTION_TARGETS, Tradeoff
from whosthat.vision.cache import EmbeddingCache

#: Shares of members called unknown for which the report gives the threshold (train's --max-member-rejection).
OPERATING_POINTS = (0.01, 0.02, 0.03, 0.05, 0.1, 0.2)
#: What the last column says of the model's own threshold.
CALIBRATED = "calibrated"
NO_STRANGERS = ("No test photos of strangers. `whosthat evaluate MODEL FOLDER`, with a sub-folder of photos per "
                "person the model does not know, gives the same table on them.")


def calibration_table(calibration: Calibration, shares: Sequence[float] = OPERATING_POINTS) -> str:
    """A row per share of members the threshold may call unknown (by rising threshold), the model's own one
    marked (and added when its share is not among `shares`); the others' column only where training had them."""
    curve = calibration.curve
    points: list[tuple[Optional[float], int]] = [(share, curve.index_for(share)) for share in shares]
    if calibration.index not in {k for _, k in points}:
        points.append((calibration.max_member_rejection, calibration.index))
    negatives = curve.negatives_accepted
    rows = []
    for share, k in sorted(points, key=lambda point: (point[1], point[0] or 0.0)):
        row: list[object] = ["" if share is None else f"{share:g}", f"{curve.thresholds[k]:.{DECIMALS}f}",
                             f"{curve.members_rejected[k]:.1%}", f"{curve.strangers_accepted[k]:.1%}"]
        if negatives is not None:
            row.append(f"{negatives[k]:.1%}")
        rows.append([*row, CALIBRATED if k == calibration.index else ""])
    headers = ["train --max-member-rejection", "predict --threshold", "members called unknown",
               "strangers named (members held out)"]
    if negatives is not None:
        headers.append("others named (train --others)")
    return table([*headers, ""], rows)


def tradeoff_table(tradeoff: Tradeoff) -> str:
    """An evaluation's trade-off (`whosthat.training.tradeoff`), a row per threshold, the strangers' column only
    where there were strangers."""
    strangers = tradeoff.stranger_photos > 0
    rows = []
    for row in tradeoff.rows:
        cells: list[object] = [f"{row.point.threshold:.{DECIMALS}f}", f"{row.among_names_accuracy:.1%}",
                               f"{row.members_rejected:.1%}"]
        if strangers and row.strangers_accepted is not None:
            cells.append(f"{row.strangers_accepted:.1%}")
        rows.append([*cells, row.point.mark])
    headers = ["predict --threshold", "members named right", "members called unknown"]
    return table([*headers, *(["strangers named"] if strangers else []), ""], rows)


def on_test_photos(model: Namer, cache: Optional[EmbeddingCache] = None) -> str:
    """The trade-off on the model's test photos where they hold strangers, found and embedded again from disk
    (through `cache`); else a note saying how to get one."""
    test = model.test
    if test is None or not (test.truth < 0).any():
        return paragraph(NO_STRANGERS, "note")
    outcomes = [o for o in test.outcomes() if o.path.is_file()]
    gone = len(test.paths) - len(outcomes)
    if not outcomes:
        return paragraph("The test photos are no longer on disk, so they cannot be scored at other thresholds.",
                         "missing")
    paths = [o.path for o in outcomes]
    evaluation = evaluate_subjects(model, paths, [o.truth for o in outcomes],
                                   list(model.extract_paths(paths, cache=cache)))
    tradeoff = evaluation.tradeoff
    if tradeoff is None:
        raise RuntimeError("evaluate_subjects gave no trade-off")
    shares = [f"{share:.0%}".rstrip("%") for share in REJECTION_TARGETS]
    text = (f"The test photos ({tradeoff.member_photos} of members, {tradeoff.stranger_photos} of people the model "
            "does not know), named again at other thresholds: at the calibrated one, and where at most "
            f"{', '.join(shares[:-1])} and {shares[-1]} % of the member photos are called unknown. A member is "
            "named right when among the names given.")
    notes = paragraph(f"{gone} test photos are no longer on disk and are left out.", "missing") if gone else ""
    return paragraph(text) + notes + tradeoff_table(tradeoff)
