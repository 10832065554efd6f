"""`train`: scan, split, choose the subject, [fine-tune], embed, fit (and calibrate), test: one stage each."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from whosthat.core.errors import DatasetError
from whosthat.models.model import Component, Model, build_extractor
from whosthat.models.records import (
    OthersRecord,
    ReferencePhotos,
    Split,
    SplitRecord,
    TestRecord,
    TrainingRecord,
    ValidationRecord,
)
from whosthat.recognition.openset import Negatives
from whosthat.recognition.recogniser import Recogniser
from whosthat.training import faces
from whosthat.training.config import DEFAULT_FACE_HEAD, DEFAULT_IMAGE_HEAD, TrainConfig
from whosthat.training.evaluate import score_predictions
from whosthat.training.folder import Item, TrainingFolder, content_keys, scan, stratified_split, without_copies
from whosthat.training.log import TrainingLog
from whosthat.training.subject import SUBJECTS, choose_subject
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.embedders.spec import embedder_from_spec, made_for_faces
from whosthat.vision.extract import Extractor, Subjects

Progress = Optional[Callable[[str, int], Callable[[int], None]]]


@dataclass(frozen=True)
class Photos:
    """The training folder (and test folder) as scanned, with every photo's content hash."""

    collection: TrainingFolder
    tests: Optional[TrainingFolder]
    keys: dict[Path, str]

    def by_path(self) -> dict[str, Item]:
        """Training-folder photos by their path relative to it (as a split names them)."""
        return {item.path.relative_to(self.collection.root).as_posix(): item for item in self.collection.items}


def train(folder: str | os.PathLike, config: Optional[TrainConfig] = None, *,
          out: Optional[str | os.PathLike] = None, progress: Progress = None, log: Optional[TrainingLog] = None,
          **settings: Any) -> Model:
    """Learn the members from `folder/<member>/<photo>` and return the model (saved to `out` if given), its
    `training` record holding the split, the notes about the photos and the test outcomes.

    config: the settings (`TrainConfig`); keywords change single ones (`train(folder, embedder="facenet")`).
    `progress(label, total)` returns a callback advanced per photo; `log` collects the notes and lines of the run.
    """
    config = (config or TrainConfig()).with_settings(**settings)
    log = log if log is not None else TrainingLog()
    started = time.perf_counter()
    test_dir = config.test_dir
    photos = scan_photos(folder, test_dir, log)
    others = scan_others(config.others, photos, log) if config.others is not None else None
    split = log.split = split_photos(photos, config.split, val_fraction=config.val_fraction,
                                     test_fraction=config.test_fraction, seed=config.seed)
    by_path = photos.by_path()
    classes = sorted({by_path[p].label for p in split.train})
    learn = [by_path[p] for p in split.train + split.val]
    cache = EmbeddingCache(Path(config.cache_dir) if config.cache_dir else None) if config.use_cache else None
    detector, embedder, chosen_by = choose(config.subject, config.detector, config.embedder,
                                           faces.filed_once(learn, photos.keys), cache, photos.keys, log)
    embedder_component, state = _embedder(config, embedder, detector, classes, split, by_path, out, cache, log)
    extractor = build_extractor(Component(detector), embedder_component, state)
    subjects = embed(extractor, learn, cache, photos.keys, progress, log)
    log.seconds["embedding"] = time.perf_counter() - started
    chosen, train_rows, val_rows = learned_faces(photos, split, classes, subjects, log)
    negatives, others_record = (embed_others(others, extractor, cache, progress, log, _members_faces(chosen, learn))
                                if others else (None, None))
    fit_started = time.perf_counter()
    recogniser_params = recogniser_settings(config.finetune is None and made_for_faces(embedder), config.head,
                                            config.whiten, config.max_member_rejection, config.seed)
    recogniser, validation = fit(recogniser_params, classes, train_rows, val_rows,
                                 fine_tuned=config.finetune is not None, negatives=negatives)
    log.seconds["fit"] = time.perf_counter() - fit_started
    model = Model(Component(detector), embedder_component, recogniser, embedder_state=state, extractor=extractor)
    test_items = faces.without_training_copies(photos.tests.items if photos.tests else [by_path[p] for p in split.test],
                                               learn, photos.keys, log)
    test = test_model(model, test_items, photos, cache, progress, log)
    log.seconds["total"] = time.perf_counter() - started
    reference = [(p, subjects[by_path[p].path], chosen[by_path[p].path]) for p in train_rows.paths + val_rows.paths]
    model.training = TrainingRecord(
        SplitRecord(split, str(photos.collection.root), str(test_dir) if test_dir else None), tuple(log.notes),
        len(chosen), {k: round(v, 2) for k, v in log.seconds.items()}, detector, chosen_by,
        _reference_photos(photos.collection.root, reference), _digests(learn, photos.keys), validation, test,
        log.finetune, others_record)
    if out is not None:
        model.save(out)
    return model


def scan_photos(folder: str | os.PathLike, test_dir: Optional[str | os.PathLike], log: TrainingLog) -> Photos:
    """Scan the training folder (and the test folder), noting skipped files and test classes that are strangers."""
    collection = scan(folder)
    log.counts = dict(collection.counts())
    for path, reason in collection.skipped:
        log.note(path, "skipped", reason)
    tests = scan(test_dir) if test_dir is not None else None
    if tests is not None and test_dir is not None:
        unknown = sorted(set(tests.classes) - set(collection.classes))
        if unknown:
            log.note(test_dir, "strangers",
                     f"test classes not in the training folder are scored as strangers: {', '.join(unknown)}")
    return Photos(collection, tests, content_keys(collection.items + (tests.items if tests is not None else [])))


@dataclass(frozen=True)
class Others:
    """The others folder as scanned (people who are not members), with the content hashes of the photos kept."""

    given: str
    collection: TrainingFolder
    keys: dict[Path, str]


def scan_others(folder: str | os.PathLike, photos: Photos, log: TrainingLog) -> Others:
    """Scan the folder of non-members' photos (`TrainConfig.others`), refusing one that is missing, empty, the
    training folder (or inside it, or holding it) or that names a member; photos that are byte-identical
    copies of a member's photo are left out, each with a note."""
    root, training = Path(folder).resolve(), photos.collection.root.resolve()
    if root == training or training in root.parents or root in training.parents:
        relation = "is" if root == training else "is inside" if training in root.parents else "holds"
        raise DatasetError(f"the others folder {folder} {relation} the training folder {photos.collection.root}: "
                           "give a folder of photos of people who are not members, apart from it")
    try:
        collection = scan(folder)
    except DatasetError as error:
        raise DatasetError(f"the others folder: {error}") from None
    members = {c.casefold(): c for c in photos.collection.classes}
    named = [c for c in collection.classes if c.casefold() in members]
    if named:
        raise DatasetError(f"the others folder {folder}: {named[0]} is a member's name "
                           f"(the training folder has {members[named[0].casefold()]}/): the others must not be members")
    for path, reason in collection.skipped:
        log.note(path, "others", f"{reason} (others folder)")
    keys = content_keys(collection.items)
    member_photos = {photos.keys[item.path]: item for item in photos.collection.items + (
        photos.tests.items if photos.tests is not None else [])}
    kept, copies = without_copies(collection.items, member_photos, keys)
    for item in copies:
        original = member_photos[keys[item.path]]
        log.note(item.path, "others", f"the same file as {original.label}/{original.path.name}, a member's photo: "
                 "not learned as someone else's")
    if not kept:
        raise DatasetError(f"the others folder {folder}: every photo in it is a copy of a member's photo")
    return Others(str(folder), TrainingFolder(collection.root, sorted({i.label for i in kept}), kept,
                                              collection.skipped), keys)


#: Cosine similarity from which a face of the others is taken for a member's face in another copy of the same
#: photo (resized or saved again): such copies meet it, different photos of one person stay below it.
SAME_FACE = 0.97


def embed_others(others: Others, extractor: Extractor, cache: Optional[EmbeddingCache], progress: Progress,
                 log: TrainingLog, members: Optional[tuple[list[Item], np.ndarray]] = None
                 ) -> tuple[Negatives, OthersRecord]:
    """The embedding of the largest face of each of the others' photos, with its person, and their record. Photos
    without a face are noted and skipped, and so are those whose face is the same as a face learned from a
    member's photo (`members`: those photos and their (n, dim) faces; `SAME_FACE`)."""
    items = others.collection.items
    callback = progress("embedding the others' photos", len(items)) if progress else None
    found = extractor.extract_paths([i.path for i in items], cache=cache, progress=callback, keys=others.keys)
    member_items, member_faces = members if members is not None else ([], np.zeros((0, 0), np.float32))
    vectors, people = [], []
    for item, subjects in zip(items, found):
        if subjects.error is not None:
            log.note(item.path, "others", f"unreadable, not used: {subjects.error.split(': ', 1)[-1]}")
            continue
        if not subjects.faces:
            log.note(item.path, "others", "no face found in this photo of the others folder, not used")
            continue
        vector = subjects.embeddings[int(np.argmax([f.area for f in subjects.faces]))]
        similarity = member_faces @ vector if member_items else np.zeros(0)
        if len(similarity) and similarity.max() >= SAME_FACE:
            twin = member_items[int(similarity.argmax())]
            log.note(item.path, "others", f"the same face as {twin.label}/{twin.path.name}, a member's photo "
                     f"(similarity {similarity.max():.2f}): not learned as someone else's")
            continue
        vectors.append(vector)
        people.append(item.label)
    if not vectors:
        raise DatasetError(f"the others folder {others.given}: no face found in any of its {len(items)} photos")
    record = OthersRecord(others.given, tuple(sorted(set(people))), len(items), len(vectors))
    return Negatives(np.stack(vectors).astype(np.float32), np.asarray(people)), record


def _members_faces(chosen: dict[Path, np.ndarray], learned: list[Item]) -> tuple[list[Item], np.ndarray]:
    """The member photos learned from that gave a face, and those faces."""
    items = [item for item in learned if item.path in chosen]
    return items, np.stack([chosen[item.path] for item in items]) if items else np.zeros((0, 0), np.float32)


def _embedder(config: TrainConfig, embedder: str, detector: str, classes: list[str], split: Split,
              by_path: dict[str, Item], out: Optional[str | os.PathLike], cache: Optional[EmbeddingCache],
              log: TrainingLog) -> tuple[Component, dict[str, np.ndarray]]:
    """The embedder the model keeps, and a fine-tuned network's weights (none for a pretrained one)."""
    if config.finetune is None:
        built = embedder_from_spec(embedder, flip=config.flip)
        return Component(built.name, built.settings), {}
    from whosthat.training.finetune.stage import finetune_network  # PyTorch and kornia, only to fine-tune

    state = finetune_network(config.finetune, detector, classes, split, by_path, epochs=config.epochs,
                             resume=config.resume, workers=config.workers, seed=config.seed, out=out, cache=cache,
                             log=log)
    return Component("finetuned", {"architecture": config.finetune, "flip": config.flip}), state


def split_photos(photos: Photos, split: Optional[Split], *, val_fraction: float, test_fraction: float, seed: int
                 ) -> Split:
    """The split: given (paths relative to the folder; the classes are those with training photos, and test
    photos of other classes are scored as strangers), else per class with `seed`, into train / validation /
    test (train / validation when a test folder holds the test photos). Byte-identical copies stay in one part."""
    root = photos.collection.root
    if split is None:
        split = stratified_split(photos.collection, val_fraction=val_fraction,
                                 test_fraction=0.0 if photos.tests is not None else test_fraction, seed=seed,
                                 keys=photos.keys)
    by_path = photos.by_path()
    unknown = sorted(set(split.train + split.val + split.test) - set(by_path))
    if unknown:
        raise DatasetError(f"{root}: the split names photos that are not there: {unknown[0]}")
    classes = {by_path[p].label for p in split.train}
    if len(classes) < 2:
        raise DatasetError(f"{root}: {len(classes)} class with training photos; whosthat needs at least two")
    return split


def choose(subject: str, detector: Optional[str], embedder: Optional[str], items: list[Item],
           cache: Optional[EmbeddingCache], keys: dict[Path, str], log: TrainingLog) -> tuple[str, str, str]:
    """The detector and embedder, and why: as given, else those of the subject (for "auto", the given
    embedder's kind, or the kind `choose_subject` finds best on a sample of `items`)."""
    if detector is not None and embedder is not None:
        return detector, embedder, "given"
    if subject == "auto" and embedder is not None:
        subject = "face" if made_for_faces(embedder) else "image"
    reason = "given"
    if subject == "auto":
        choice = choose_subject(items, cache=cache, keys=keys)
        log.say(f"subject: {choice.reason}")
        subject, reason = choice.subject, choice.reason
    if subject not in SUBJECTS:
        raise DatasetError(f"unknown subject {subject!r}: choose auto, {', '.join(SUBJECTS)}")
    return detector or SUBJECTS[subject].detector, embedder or SUBJECTS[subject].embedder, reason


def embed(extractor: Extractor, items: list[Item], cache: Optional[EmbeddingCache], keys: dict[Path, str],
          progress: Progress, log: TrainingLog) -> dict[Path, Subjects]:
    """The subjects of the training and validation photos, through the cache."""
    callback = progress("embedding training photos", len(items)) if progress else None
    paths = [i.path for i in items]
    return dict(zip(paths, extractor.extract_paths(paths, cache=cache, progress=callback, keys=keys)))


def learned_faces(photos: Photos, split: Split, classes: list[str], subjects: dict[Path, Subjects], log: TrainingLog
                  ) -> tuple[dict[Path, np.ndarray], faces.Rows, faces.Rows]:
    """The embedding learned from in each photo (`faces.choose_faces`, conflicting copies left out), and the
    rows of the training and validation photos. Every class needs a training photo with a face."""
    by_path = photos.by_path()
    learn = [by_path[p] for p in split.train + split.val]
    chosen = faces.choose_faces(classes, learn, subjects, log)
    faces.drop_conflicts(chosen, learn, photos.keys, log)
    index = {c: k for k, c in enumerate(classes)}
    train_rows = faces.rows(chosen, split.train, by_path, index)
    val_rows = faces.rows(chosen, split.val, by_path, index)
    missing = [c for c in classes if index[c] not in set(train_rows.y.tolist())]
    if missing:
        raise DatasetError(f"{photos.collection.root}: no training photo with a face for {', '.join(missing)}")
    return chosen, train_rows, val_rows


def recogniser_settings(on_faces: bool, head: Optional[str], whiten: Optional[bool], max_member_rejection: float,
                        seed: int) -> Recogniser:
    """The recogniser to fit: by default logistic regression on whitened face embeddings, a linear SVM on
    other features (`DEFAULT_FACE_HEAD`, `DEFAULT_IMAGE_HEAD`)."""
    return Recogniser(head or (DEFAULT_FACE_HEAD if on_faces else DEFAULT_IMAGE_HEAD),
                      whiten=on_faces if whiten is None else whiten, max_member_rejection=max_member_rejection,
                      seed=seed)


def fit(settings: Recogniser, classes: list[str], train_rows: faces.Rows, val_rows: faces.Rows, *,
        fine_tuned: bool, negatives: Optional[Negatives] = None) -> tuple[Recogniser, Optional[ValidationRecord]]:
    """The recogniser fitted on the training and validation faces, and what one fitted on the training faces
    alone made of the validation faces (`ensemble --best` compares models on these).

    The stranger threshold is calibrated on every face by cross-validation, or, when the embedder is a
    network fine-tuned on the training photos, on the validation faces alone (`Recogniser.fit`'s `seen`), and
    on the `negatives` (faces of people who are not members) when there are any.
    """
    names = np.asarray(classes, dtype=object)
    validation = None
    if len(val_rows.y):
        early = Recogniser(**{**settings.get_params(), "calibrate": False}).fit(train_rows.X, names[train_rows.y])
        validation = ValidationRecord(tuple(val_rows.paths), early.predict_proba(val_rows.X).astype(np.float32),
                                      val_rows.y)
        X, y = np.vstack([train_rows.X, val_rows.X]), np.concatenate([train_rows.y, val_rows.y])
    else:
        X, y = train_rows.X, train_rows.y
    seen = np.arange(len(y)) < len(train_rows.y) if fine_tuned else None
    if negatives is None:
        return settings.fit(X, names[y], seen=seen), validation
    return settings.fit(X, names[y], seen=seen, negatives=negatives.X, negative_people=negatives.people), validation


def test_model(model: Model, items: list[Item], photos: Photos, cache: Optional[EmbeddingCache], progress: Progress,
               log: TrainingLog) -> Optional[TestRecord]:
    """The test photos predicted as new photos would be (`log.evaluation`), and their record."""
    if not items:
        return None
    callback = progress("predicting test photos", len(items)) if progress else None
    results = model.extract_paths([i.path for i in items], cache=cache, progress=callback, keys=photos.keys)
    truth = [model.classes.index(i.label) if i.label in model.classes else -1 for i in items]
    log.evaluation = score_predictions(model.classes, [i.path for i in items], truth,
                                       [model.name_subjects(s) for s in results])
    root = photos.tests.root if photos.tests is not None else photos.collection.root
    return log.evaluation.record(root)


def _reference_photos(root: Path, rows: list[tuple[str, Subjects, np.ndarray]]) -> ReferencePhotos:
    """Each reference row's photo (relative to `root`) and the box of the face chosen in it."""
    boxes = np.array([faces.chosen_box(found, vector) for _, found, vector in rows], np.float32).reshape(-1, 4)
    return ReferencePhotos(str(root.resolve()), tuple(path for path, _, _ in rows), boxes)


def _digests(items: list[Item], keys: dict[Path, str]) -> np.ndarray:
    """(n, 32) uint8: the content hashes of the photos learned from (an unreadable file has none)."""
    digests = b"".join(bytes.fromhex(keys[item.path]) for item in items if faces.is_digest(keys[item.path]))
    return np.frombuffer(digests, np.uint8).reshape(-1, 32)
