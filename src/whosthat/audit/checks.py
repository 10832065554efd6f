"""`audit`: the checks on a folder-per-class collection (unreadable files, duplicates, leakage, faces, mislabels,
imbalance), returning an `AuditResult`."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np

from whosthat.audit.findings import (
    CROSS_CLASS,
    DUPLICATE,
    IMBALANCE,
    LEAKAGE,
    MISLABEL,
    NO_FACE,
    SEVERAL_FACES,
    UNREADABLE,
    AuditResult,
    Finding,
)
from whosthat.audit.hashing import dhash, hamming_matrix, phash
from whosthat.core.errors import ImageError
from whosthat.recognition.heads import cross_val_proba
from whosthat.training.folder import Item, scan
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.extract import Extractor, Subjects
from whosthat.vision.images import load_image

#: Two photos are near duplicates when both their dHash and pHash differ in at most this many of 64 bits
#: (on kpop15's tight face crops, different people start at 8).
NEAR_DUPLICATE_BITS = 6
#: A photo is a suspected mislabel when its own class gets at most this probability out of fold, and another
#: class at least `MISLABEL_RATIO` times as much and at least `MISLABEL_OTHER` (on few photos per class the
#: probabilities spread out, so a fixed margin would miss a photo plainly of somebody else).
MISLABEL_OWN = 0.1
MISLABEL_RATIO = 4.0
MISLABEL_OTHER = 0.3
#: The face checks apply when at least this share of the photos hold a face the detector finds.
FACE_SHARE = 0.5
#: A class this many times the median size (or the median this many times the class) is out of balance.
IMBALANCE_RATIO = 1.5

Progress = Optional[Callable[[str, int], Callable[[int], None]]]


@dataclass(frozen=True)
class Photo:
    """A readable photo of the collection with its fingerprints."""

    item: Item
    in_test: bool
    sha256: str
    dhash: int
    phash: int
    pixels: int


def audit(folder: str | os.PathLike, *, test_dir: Optional[str | os.PathLike] = None,
          extractor: Optional[Extractor] = None, cache: Optional[EmbeddingCache] = None, head: str = "logistic",
          seed: int = 0, progress: Progress = None) -> AuditResult:
    """Audit `folder/<class>/<photo>` (and duplicates between it and `test_dir`).

    The face checks (no face, several faces, suspected mislabels) run when an `extractor` is given
    (a detector and an embedder; their results are read from and kept in `cache`); mislabels are
    found with cross-validated predictions of a `head` over the photos with exactly one face.
    """
    started = time.perf_counter()
    collection = scan(folder)
    tests = scan(test_dir) if test_dir is not None else None
    result = AuditResult(collection.root, dict(sorted(collection.counts().items())),
                         test_root=tests.root if tests else None, test_photos=len(tests.items) if tests else 0)
    items = [(i, False) for i in collection.items] + [(i, True) for i in (tests.items if tests else [])]
    photos = _fingerprints(items, progress)
    for (item, in_test), photo in zip(items, photos):
        if isinstance(photo, str):
            result.findings.append(Finding(UNREADABLE, (item.path,), f"{result.display(item.path)}: {photo}",
                                           () if in_test else (item.path,)))
    readable = [p for p in photos if isinstance(p, Photo)]
    result.findings += _duplicates(readable, result)
    if extractor is None:
        result.face_checks, result.face_note = False, "skipped on request"
    else:
        result.findings += _face_checks([p for p in readable if not p.in_test], extractor, cache, head, seed,
                                        result, progress)
    imbalance = _imbalance(result.counts)
    if imbalance:
        result.findings.append(imbalance)
    result.seconds = time.perf_counter() - started
    return result


def _fingerprint(item: Item, in_test: bool) -> Union[Photo, str]:
    """The photo's hashes, or why it cannot be read."""
    try:
        data = item.path.read_bytes()
        image = load_image(data)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    except ImageError as error:
        return error.reason
    return Photo(item, in_test, hashlib.sha256(data).hexdigest(), dhash(image), phash(image),
                 image.shape[0] * image.shape[1])


def _fingerprints(items: list[tuple[Item, bool]], progress: Progress) -> list[Union[Photo, str]]:
    advance = progress("reading photos", len(items)) if progress else None
    out = []
    with ThreadPoolExecutor(min(4, os.cpu_count() or 1)) as pool:
        for photo in pool.map(lambda pair: _fingerprint(*pair), items):
            out.append(photo)
            if advance:
                advance(1)
    return out


def _similar_pairs(photos: list[Photo], chunk: int = 1024) -> list[tuple[int, int]]:
    """Index pairs (i < j) of identical or near-identical photos, compared a block of rows at a time."""
    dh = np.array([p.dhash for p in photos], np.uint64)
    ph = np.array([p.phash for p in photos], np.uint64)
    pairs = []
    for start in range(0, len(photos), chunk):
        rows = slice(start, start + chunk)
        near = ((hamming_matrix(dh[rows], dh) <= NEAR_DUPLICATE_BITS)
                & (hamming_matrix(ph[rows], ph) <= NEAR_DUPLICATE_BITS))
        for i, j in zip(*np.nonzero(near)):
            if start + i < j:
                pairs.append((start + int(i), int(j)))
    by_content: dict[str, int] = {}
    for k, photo in enumerate(photos):
        first = by_content.setdefault(photo.sha256, k)
        if first != k:
            pairs.append((first, k))
    return pairs


def _groups(n: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Connected groups (of two or more) of the pairs, by union-find."""
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in pairs:
        parent[root(i)] = root(j)
    groups: dict[int, list[int]] = {}
    for i in sorted({k for pair in pairs for k in pair}):
        groups.setdefault(root(i), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def _duplicates(photos: list[Photo], result: AuditResult) -> list[Finding]:
    """Duplicate groups: leakage when a group spans the training and test folders, and, among its training
    copies, a duplicate across classes or within one."""
    findings = []
    for group in _groups(len(photos), _similar_pairs(photos)):
        members = [photos[k] for k in group]
        training = [p for p in members if not p.in_test]
        how = "identical files" if len({p.sha256 for p in members}) == 1 else "near-identical photos"
        if training and len(training) < len(members):
            paths = tuple(p.item.path for p in members)
            findings.append(Finding(LEAKAGE, paths, f"in both the training and the test folder ({how}): "
                                    + ", ".join(result.display(p) for p in paths),
                                    tuple(p.item.path for p in training)))
        if len(training) < 2:
            continue
        paths = tuple(p.item.path for p in training)
        how = "identical files" if len({p.sha256 for p in training}) == 1 else "near-identical photos"
        labels = sorted({p.item.label for p in training})
        if len(labels) > 1:
            findings.append(Finding(CROSS_CLASS, paths, f"filed under {', '.join(labels)} ({how}): "
                                    + ", ".join(result.display(p) for p in paths), paths))
        else:
            keep = max(training, key=lambda p: (p.pixels, -len(p.item.path.name)))
            copies = tuple(p for p in paths if p != keep.item.path)
            findings.append(Finding(DUPLICATE, paths, f"{how} in {labels[0]}: keep {result.display(keep.item.path)}, "
                                    "copies: " + ", ".join(result.display(p) for p in copies), copies))
    return findings


def _face_checks(photos: list[Photo], extractor: Extractor, cache: Optional[EmbeddingCache], head: str, seed: int,
                 result: AuditResult, progress: Progress) -> list[Finding]:
    """No face, several faces and (cross-validated) suspected mislabels, when the photos hold faces at all."""
    advance = progress("finding faces", len(photos)) if progress else None
    subjects = list(extractor.extract_paths([p.item.path for p in photos], cache=cache, progress=advance,
                                            keys={p.item.path: p.sha256 for p in photos}))
    with_face = sum(1 for s in subjects if s.faces)
    if with_face < FACE_SHARE * len(photos):
        result.face_checks = False
        result.face_note = (f"do not apply: only {with_face} of {len(photos)} photos hold a face "
                            f"{extractor.detector.name} finds (drawings or objects?); duplicates and imbalance are "
                            "still checked")
        return []
    findings = []
    for photo, found in zip(photos, subjects):
        path = photo.item.path
        boxes = tuple(_rounded_box(f.box) for f in found.faces)
        if found.error is not None:
            findings.append(Finding(UNREADABLE, (path,), found.error, (path,)))
        elif not found.faces:
            findings.append(Finding(NO_FACE, (path,), f"{result.display(path)}: no face found", (path,)))
        elif len(found.faces) > 1:
            findings.append(Finding(SEVERAL_FACES, (path,), f"{result.display(path)}: {len(found.faces)} faces "
                                    "(a group shot? training uses the one most like the class)", (path,), boxes))
    return findings + _mislabels(photos, subjects, head, seed, result)


def _mislabels(photos: list[Photo], subjects: list[Subjects], head: str, seed: int, result: AuditResult
               ) -> list[Finding]:
    """Photos whose one face looks more like another class than its own, to a head that never saw them."""
    single = [(p, s) for p, s in zip(photos, subjects) if len(s.faces) == 1]
    labels = [p.item.label for p, _ in single]
    classes = sorted(c for c in set(labels) if labels.count(c) >= 2)
    single = [(p, s) for p, s in single if p.item.label in classes]
    if len(classes) < 2:
        return []
    X = np.stack([s.embeddings[0] for _, s in single]).astype(np.float32)
    y = np.array([classes.index(p.item.label) for p, _ in single])
    probabilities = cross_val_proba(head, X, y, len(classes), seed=seed)
    rows = np.arange(len(y))
    own = probabilities[rows, y]
    others = probabilities.copy()
    others[rows, y] = -1.0
    best = others.argmax(axis=1)
    other = others[rows, best]
    flagged = np.flatnonzero((own <= MISLABEL_OWN) & (other >= MISLABEL_RATIO * own) & (other >= MISLABEL_OTHER))
    findings = []
    for k in sorted(flagged, key=lambda k: own[k] - others[k, best[k]]):
        photo, found = single[k]
        path = photo.item.path
        findings.append(Finding(MISLABEL, (path,), f"{result.display(path)}: filed under {photo.item.label} "
                                f"({own[k]:.0%}) but looks like {classes[best[k]]} ({others[k, best[k]]:.0%})",
                                (path,), (_rounded_box(found.faces[0].box),)))
    return findings


def _rounded_box(box: np.ndarray) -> tuple[float, float, float, float]:
    """A face's (x1, y1, x2, y2) to a tenth of a pixel, as findings keep it."""
    x1, y1, x2, y2 = (round(float(v), 1) for v in box)
    return x1, y1, x2, y2


def _imbalance(counts: dict[str, int]) -> Optional[Finding]:
    """One finding naming the classes far above or below the median size, with what to do about it."""
    if len(counts) < 2:
        return None
    median = float(np.median(list(counts.values())))
    large = {c: n for c, n in counts.items() if n >= IMBALANCE_RATIO * median}
    small = {c: n for c, n in counts.items() if n * IMBALANCE_RATIO <= median}
    if not large and not small:
        return None
    parts = [f"{c} {n} photos ({n / median:.1f}x the median of {median:g})" for c, n in {**large, **small}.items()]
    fixes = []
    if small:
        fixes.append(f"add photos to {', '.join(small)} (about {median:g} each)")
    if large:
        fixes.append(f"set aside the extra photos of {', '.join(large)}, keeping the most varied")
    advice = ("The heads weigh every class equally, so training is not skewed by it; to even the collection out, "
              + " or ".join(fixes))
    return Finding(IMBALANCE, (), "; ".join(parts) + ". " + advice + ".")


def audit_extractor(detector: str, embedder: str) -> Extractor:
    """The detector and embedder the face checks use."""
    from whosthat.vision.detectors import create_detector
    from whosthat.vision.embedders import create_embedder

    return Extractor(create_detector(detector), create_embedder(embedder))
