"""`refit`: a model fitted again from its training faces and faces given since (real photos, no photo read at
fitting time)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import whosthat
from conftest import BLACKPINK, BLACKPINK_TRAIN_PER_CLASS, DATASETS, KPOP15, KPOP_STRANGERS, images_of, require
from whosthat.models.model import Model
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.recogniser import TooFewClassesError
from whosthat.training.refit import refit, training_embeddings
from whosthat.vision.cache import EmbeddingCache

CELEBRITY5 = DATASETS / "celebrity5" / "train"
NEW_PERSON = "madonna"


def largest_faces(model: Model, paths: list[Path], cache_dir: Path) -> np.ndarray:
    """The embedding of the largest face of each photo that has one."""
    cache = EmbeddingCache(cache_dir)
    try:
        found = list(model.extract_paths(paths, cache=cache))
    finally:
        cache.close()
    return np.stack([s.embeddings[int(np.argmax([f.area for f in s.faces]))] for s in found if len(s.faces)])


@pytest.fixture(scope="module")
def held_out(blackpink_model: Model, session_cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Faces of blackpink photos the model did not learn from, and their members."""
    paths, names = [], []
    for member in blackpink_model.classes:
        chosen = images_of(BLACKPINK / member)[BLACKPINK_TRAIN_PER_CLASS:BLACKPINK_TRAIN_PER_CLASS + 5]
        paths += chosen
        names += [member] * len(chosen)
    cache = EmbeddingCache(session_cache)
    try:
        found = list(blackpink_model.extract_paths(paths, cache=cache))
    finally:
        cache.close()
    kept = [(s.embeddings[int(np.argmax([f.area for f in s.faces]))], n) for s, n in zip(found, names) if s.faces]
    return np.stack([v for v, _ in kept]), np.array([n for _, n in kept], dtype=object)


def test_nothing_given_gives_back_the_model(blackpink_model: Model, held_out: tuple[np.ndarray, np.ndarray]) -> None:
    """The training embeddings come back from the whitened reference, so the model fitted again on them alone
    is the same model: the same reference, the same names for new photos."""
    X, y = training_embeddings(blackpink_model.recogniser)
    assert len(X) == len(blackpink_model.reference.y) and set(y.tolist()) == set(blackpink_model.classes)
    again = refit(blackpink_model, np.zeros((0, X.shape[1])), [], np.zeros((0, X.shape[1])), source="nothing")
    np.testing.assert_allclose(again.reference.X, blackpink_model.reference.X, atol=1e-4)
    faces, _ = held_out
    assert np.mean(again.recogniser.predict(faces) == blackpink_model.recogniser.predict(faces)) >= 0.95
    assert again.training is not None and again.training.learned is not None
    assert again.training.learned.confirmed == {} and again.training.test is None


def test_a_new_person_given_becomes_a_member_and_is_named(blackpink_model: Model, session_cache: Path,
                                                          held_out: tuple[np.ndarray, np.ndarray],
                                                          tmp_path: Path) -> None:
    """Six photos of a person the model never knew, given under a name: the model fitted again names her other
    photos, still names the members, records what it learned, and keeps it through its file."""
    require(CELEBRITY5)
    photos = images_of(CELEBRITY5 / NEW_PERSON)
    faces = largest_faces(blackpink_model, photos, session_cache)
    before = blackpink_model.recogniser.predict(faces[6:])
    assert (before == UNKNOWN_LABEL).mean() >= 0.5, "a stranger to the model before"
    learned = refit(blackpink_model, faces[:6], [NEW_PERSON] * 6, np.zeros((0, faces.shape[1])), source="index")
    assert learned.classes == sorted(blackpink_model.classes + [NEW_PERSON])
    assert (learned.recogniser.predict(faces[6:]) == NEW_PERSON).mean() >= 0.7
    members, truth = held_out
    right = {name: float(np.mean(model.recogniser.predict(members) == truth))
             for name, model in (("before", blackpink_model), ("after", learned))}
    assert right["after"] >= right["before"] - 0.05, right
    record = learned.training.learned
    assert record.confirmed == {NEW_PERSON: 6} and record.new_members == (NEW_PERSON,) and record.source == "index"
    loaded = whosthat.load(learned.save(tmp_path / "learned.wt"))
    assert loaded.training.learned == record and loaded.classes == learned.classes
    assert len(loaded.training.reference_photos.paths) == len(loaded.reference.y)
    # fitted again with nothing given, it forgets what was given (a correction undone)
    forgotten = refit(loaded, np.zeros((0, faces.shape[1])), [], np.zeros((0, faces.shape[1])))
    assert forgotten.classes == blackpink_model.classes
    assert len(forgotten.reference.y) == len(blackpink_model.reference.y)


def test_faces_of_nobody_given_are_named_less(blackpink_model: Model, session_cache: Path) -> None:
    """Photos of look-alike idols given as nobody of the group: their other photos are named less often."""
    require(KPOP15)
    faces = {idol: largest_faces(blackpink_model, images_of(KPOP15 / idol), session_cache) for idol in KPOP_STRANGERS}
    given = np.vstack([v[:len(v) // 2] for v in faces.values()])
    rest = np.vstack([v[len(v) // 2:] for v in faces.values()])
    learned = refit(blackpink_model, np.zeros((0, given.shape[1])), [], given)
    assert learned.recogniser.n_negatives_ == len(given) and learned.training.learned.negatives == len(given)
    named = {name: float(np.mean(model.recogniser.predict(rest) != UNKNOWN_LABEL))
             for name, model in (("before", blackpink_model), ("after", learned))}
    assert named["after"] < named["before"], named


def test_names_must_match_faces_and_two_members_must_remain(blackpink_model: Model) -> None:
    dim = blackpink_model.reference.X.shape[1]
    with pytest.raises(ValueError, match="names for"):
        refit(blackpink_model, np.zeros((2, dim)), ["a"], np.zeros((0, dim)))
    assert issubclass(TooFewClassesError, ValueError)
