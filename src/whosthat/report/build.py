"""`write_report`: the HTML report of a trained model, from what its model file records and its photos on disk."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Optional

import numpy as np

from whosthat.core.files import atomic_file
from whosthat.models.model import Model
from whosthat.models.protocol import Namer
from whosthat.models.records import TrainingRecord
from whosthat.recognition.assign import UNKNOWN
from whosthat.recognition.openset import Calibration
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.recogniser import Reference
from whosthat.report import plots, tradeoff
from whosthat.report.html import Section, card, cards, figure, paragraph, render_page, table, write_page
from whosthat.report.images import boxed_thumbnail, face_crop, jpeg_url, open_photo
from whosthat.training.evaluate import NO_FACE
from whosthat.training.folder import class_name
from whosthat.vision.cache import EmbeddingCache, default_cache_dir

#: Section titles, in page order (tests look for them).
HEADINGS = ("Summary", "Class distribution", "Training history", "Confusion matrix", "Scores per class",
            "Misclassified test photos", "Stranger threshold", "Embedding map", "Notes about the photos")
#: At most this many misclassified photos are shown (worst first).
MAX_GALLERY = 60
#: The embedding map uses at most this many training faces, and shows a thumbnail on this many.
MAX_MAP_POINTS = 500
MAX_MAP_THUMBNAILS = 60
NO_TEST = "No test photos: the model was trained without a test split."


def write_report(model: Namer, out: str | os.PathLike, *, title: Optional[str] = None,
                 cache: Optional[EmbeddingCache] = None) -> Path:
    """Write the self-contained HTML report of `model` (a model or an ensemble) to `out` (atomically).

    cache: where the faces of test photos found again are read and kept (test photos of strangers are
    named again at other thresholds for the stranger threshold's trade-off).
    """
    out = Path(out)
    return write_page(out, build_report(model, title or f"whosthat report: {out.stem}", cache=cache))


def build_report(model: Namer, title: str, *, cache: Optional[EmbeddingCache] = None) -> str:
    """The report page as a string (`write_report`'s `cache`)."""
    sections = [
        Section(HEADINGS[0], "summary", _summary(model)),
        Section(HEADINGS[1], "classes", _distribution(model)),
        Section(HEADINGS[2], "history", _history(model)),
        Section(HEADINGS[3], "confusion", _confusion(model)),
        Section(HEADINGS[4], "scores", _scores(model)),
        Section(HEADINGS[5], "misclassified", _gallery(model)),
        Section(HEADINGS[6], "threshold", _threshold(model, cache)),
        Section(HEADINGS[7], "map", _map(model)),
        Section(HEADINGS[8], "notes", _notes(model)),
    ]
    return render_page(title, f"{len(model.classes)} classes; {model.description}", sections)


def _summary(model: Namer) -> str:
    training = _training(model)
    rows: list[tuple[str, object]] = [("classes", ", ".join(model.classes)), ("pipeline", model.description),
                                      ("stranger threshold", f"{model.threshold:.3f}")]
    if training is not None:
        rows.append(("faces the model learned from", training.photos_used))
    if model.test is not None:
        metrics = model.test.metrics
        rows += [("test photos", metrics.photos), ("test accuracy (largest face)", f"{metrics.accuracy:.1%}"),
                 ("member among the names given", f"{metrics.among_names_accuracy:.1%}"),
                 ("members called unknown", f"{metrics.members_rejected:.1%}")]
        if metrics.top1_accuracy is not None:
            rows.append(("most probable name right, the stranger threshold aside", f"{metrics.top1_accuracy:.1%}"))
        if metrics.strangers_accepted is not None:
            rows.append(("strangers named as a member", f"{metrics.strangers_accepted:.1%}"))
    if training is not None:
        rows.append(("photos from", training.split.root))
    return table(["", ""], rows)


def _distribution(model: Namer) -> str:
    training = _training(model)
    if training is None:
        return paragraph("An ensemble: its members' reports show the photos each was trained on.", "note")
    split = training.split.split
    per_split = {"train": Counter(_class_of(p) for p in split.train),
                 "validation": Counter(_class_of(p) for p in split.val),
                 "test": Counter(_class_of(p) for p in (model.test.paths if model.test else split.test))}
    names = list(model.classes) + sorted({c for counts in per_split.values() for c in counts} - set(model.classes))
    counts = {s: [per_split[s][c] for c in names] for s in per_split}
    rows = [[c + ("" if c in model.classes else " (stranger)"), *(counts[s][k] for s in counts),
             sum(counts[s][k] for s in counts)] for k, c in enumerate(names)]
    return (figure(plots.class_distribution(names, counts), "photos per class and split")
            + table(["class", *counts, "total"], rows))


def _history(model: Namer) -> str:
    training = _training(model)
    finetune = training.finetune if training is not None else None
    if finetune is None or not finetune.history:
        return paragraph("Not fine-tuned: the head is fitted on the embeddings in one step, so there are no "
                         "epochs to plot.", "note")
    history = finetune.history
    kept = next((row for row in history if row.epoch == finetune.best_epoch), history[-1])
    return (figure(plots.training_history(history, finetune.best_epoch), "loss and accuracy per epoch")
            + paragraph(f"{len(history)} epochs; the weights of epoch {kept.epoch} are kept: validation accuracy "
                        f"{kept.val_accuracy:.1%}, validation loss {kept.val_loss:.3f}."))


def _confusion(model: Namer) -> str:
    if model.test is None:
        return paragraph(NO_TEST, "note")
    metrics = model.test.metrics
    return figure(plots.confusion_heatmap(metrics.confusion, model.classes, metrics.confusion_columns),
                  "confusion matrix of the test photos")


def _scores(model: Namer) -> str:
    if model.test is None:
        return paragraph(NO_TEST, "note")
    rows = model.test.metrics.per_class
    return (figure(plots.class_scores(rows), "precision, recall and F1 per class")
            + table(["class", "precision", "recall", "F1", "test photos"],
                    [(r.name, f"{r.precision:.1%}", f"{r.recall:.1%}", f"{r.f1:.1%}", r.support) for r in rows]))


def _name(model: Namer, index: int) -> str:
    return {UNKNOWN: UNKNOWN_LABEL, NO_FACE: "no face found"}.get(index, model.classes[index] if index >= 0 else "?")


def _gallery(model: Namer) -> str:
    outcomes = model.test.outcomes() if model.test is not None else []
    if not outcomes:
        return paragraph("No test photos recorded in the model file.", "note")
    wrong = sorted((o for o in outcomes if o.wrong),
                   key=lambda o: (0 if o.predicted >= 0 else 1 if o.predicted == UNKNOWN else 2, -o.confidence))
    if not wrong:
        return paragraph(f"All {len(outcomes)} test photos were named correctly.")
    items, missing = [], 0
    for outcome in wrong[:MAX_GALLERY]:
        image = open_photo(outcome.path)
        missing += image is None
        url = jpeg_url(boxed_thumbnail(image, [outcome.box])) if image is not None else None
        truth = model.classes[outcome.truth] if outcome.truth >= 0 else "a stranger"
        guess = _name(model, outcome.predicted)
        confidence = "" if outcome.predicted == NO_FACE else f" ({outcome.confidence:.0%})"
        items.append(card([(url, str(outcome.path))], [f"true: {truth}", f"predicted: {guess}{confidence}",
                                                         outcome.path.name]))
    intro = (f"{len(wrong)} of {len(outcomes)} test photos misclassified, worst first: wrong names by confidence, "
             "then members called unknown, then photos where no face was found. The scored face is boxed.")
    if len(wrong) > MAX_GALLERY:
        intro += f" The first {MAX_GALLERY} are shown."
    notes = paragraph(f"{missing} photos are no longer on disk; their cards say so.", "missing") if missing else ""
    return paragraph(intro) + notes + cards(items)


def _threshold(model: Namer, cache: Optional[EmbeddingCache]) -> str:
    """The trade-off as calibrated (a single model's curve) and, where they hold strangers, on the test photos."""
    return _calibration_curve(model) + tradeoff.on_test_photos(model, cache)


def _calibration_curve(model: Namer) -> str:
    """The calibration's curve, plotted and at the points `train --max-member-rejection` would choose."""
    calibration = _calibration(model)
    if calibration is None:
        return paragraph("An ensemble: a face is named when its members' stranger scores, each taken relative to "
                         "the member's own calibrated threshold, are above zero on average; the members' reports "
                         "show their curves.", "note")
    curve, at = calibration.curve, calibration.index
    if not curve.n_members:
        return paragraph("This model file does not record the stranger curve.", "note")
    text = (f"At the chosen threshold {model.threshold:.3f}, {curve.members_rejected[at]:.1%} of the members "
            f"are called unknown and {curve.strangers_accepted[at]:.1%} of the simulated strangers (each member held "
            "out in turn) are given a name, each photo scored by a head that had not seen it")
    if calibration.negatives_accepted is not None:
        text += (f"; so are {calibration.negatives_accepted:.1%} of the {curve.n_negatives} faces of the others "
                 "given to training (people who are not members)")
    return (figure(plots.stranger_curve(curve, at), "stranger threshold curve")
            + paragraph(f"{text}. `whosthat predict --threshold` moves the point; other points of the same curve:")
            + tradeoff.calibration_table(calibration))


def _layout(X: np.ndarray, seed: int) -> np.ndarray:
    """(n, 2) t-SNE layout of the rows X (reduced by PCA first). It is kept in the cache folder under a digest of
    the rows and the seed, so that a retrain on the same photos, whose faces come from the embedding cache, draws
    its map without laying it out again."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    rows = np.ascontiguousarray(X, np.float32)
    digest = hashlib.sha256(rows.tobytes() + f"{rows.shape}:{seed}:tsne-pca50".encode()).hexdigest()[:32]
    path = default_cache_dir() / "maps" / f"{digest}.npy"
    try:
        kept = np.load(path, allow_pickle=False)
        if kept.shape == (len(rows), 2) and np.isfinite(kept).all():
            return kept
    except (OSError, ValueError):
        pass
    reduced = PCA(min(50, len(rows), rows.shape[1]), random_state=seed).fit_transform(rows)
    with threadpool_limits(1):  # OpenMP threads spin against each other on a busy machine (40x slower)
        xy = TSNE(2, perplexity=min(30.0, (len(rows) - 1) / 3), init="pca", random_state=seed).fit_transform(reduced)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as stream:
            np.save(stream, np.asarray(xy, np.float64), allow_pickle=False)
    except OSError:  # a cache that cannot be written: the map is drawn all the same
        pass
    return xy


def _map(model: Namer, seed: int = 0) -> str:
    training = _training(model)
    reference = _reference(model)
    if reference is None or training is None:
        return paragraph("An ensemble: its members' reports map their training faces.", "note")
    X, y = reference.X, reference.y
    if len(X) < 5:
        return paragraph("Too few training faces for a map.", "note")
    photos = training.reference_photos
    paths, boxes = photos.paths, photos.boxes
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(X), min(len(X), MAX_MAP_POINTS), replace=False))
    xy = _layout(X[chosen], seed)
    with_thumbnail = set()
    if len(paths) == len(X):
        per_class = max(1, MAX_MAP_THUMBNAILS // len(model.classes))
        for c in range(len(model.classes)):
            mine = np.flatnonzero(y[chosen] == c)
            with_thumbnail.update(rng.choice(mine, min(per_class, len(mine)), replace=False).tolist())
    root = Path(photos.root)
    points, missing = [], 0
    for k, index in enumerate(chosen):
        thumbnail = None
        if k in with_thumbnail:
            image = open_photo(root / paths[index])
            missing += image is None
            thumbnail = face_crop(image, boxes[index]) if image is not None else None
        points.append(plots.MapPoint(float(xy[k, 0]), float(xy[k, 1]), int(y[index]), thumbnail))
    text = (f"{len(chosen)} training faces; a thumbnail on {len(with_thumbnail) - missing} of them. "
            "Faces of one class should gather; a face among another class's is worth a look.")
    if not paths:
        text += " This model file does not record the training photos' paths, so no thumbnails."
    notes = paragraph(f"{missing} training photos are no longer on disk: drawn as dots only.", "missing") \
        if missing else ""
    return figure(plots.embedding_map(points, model.classes), "2-D map of the training faces") + paragraph(text) + notes


def _notes(model: Namer) -> str:
    training = _training(model)
    notes = training.notes if training is not None else ()
    if not notes:
        return paragraph("Nothing to note: every training photo was read and held one face.")
    kinds = Counter(n.kind for n in notes)
    return (paragraph(", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
            + table(["kind", "photo", "note"], [(n.kind, n.path, n.message) for n in notes]))


def _class_of(relative: str) -> str:
    return class_name(relative.split("/", 1)[0])


def _training(model: Namer) -> Optional[TrainingRecord]:
    """How a single model was trained (None for an ensemble: its members' reports say how each was)."""
    return model.training if isinstance(model, Model) else None


def _calibration(model: Namer) -> Optional[Calibration]:
    """A single model's stranger calibration (an ensemble's threshold is a margin over its members' own)."""
    return model.calibration if isinstance(model, Model) else None


def _reference(model: Namer) -> Optional[Reference]:
    """A single model's training faces (each member of an ensemble compares faces with its own)."""
    return model.reference if isinstance(model, Model) else None
