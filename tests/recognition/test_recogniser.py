"""`Recogniser` as a scikit-learn estimator, on small arrays the tests make (no photos, no networks)."""

from __future__ import annotations

import numpy as np
import pytest

from whosthat.core.arrays import part
from whosthat.core.errors import WhosthatError
from whosthat.recognition.openset import Calibration
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.recognition.recogniser import Recogniser
from whosthat.vision.vectors import normalise

NAMES = ["ana", "bo", "cy"]


def clusters(per_class: int = 30, dim: int = 16, spread: float = 0.25, seed: int = 0,
             centres: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors around one centre per class (random ones unless given), their class names, and the centres."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.normal(size=(len(NAMES), dim))) if centres is None else centres
    y = np.repeat(np.array(NAMES, dtype=object), per_class)
    X = normalise(np.repeat(centres, per_class, axis=0) + spread * rng.normal(size=(len(y), dim)))
    return X, y, centres


def test_settings_are_stored_as_given_and_fit_sets_the_fitted_state() -> None:
    recogniser = Recogniser("knn", head_params={"k": 3}, whiten=False, max_member_rejection=0.1, seed=4)
    assert recogniser.get_params() == {"head": "knn", "head_params": {"k": 3}, "whiten": False, "calibrate": True,
                                       "max_member_rejection": 0.1, "seed": 4}
    assert not hasattr(recogniser, "classes_")
    X, y, _ = clusters()
    assert recogniser.fit(X, y) is recogniser
    assert recogniser.classes_ == NAMES and recogniser.whitening_ is None
    assert recogniser.reference_.X.shape == X.shape and sorted(set(recogniser.reference_.y.tolist())) == [0, 1, 2]
    assert isinstance(recogniser.calibration_, Calibration)
    assert recogniser.threshold_ == recogniser.calibration_.threshold
    assert recogniser.calibration_.max_member_rejection == 0.1


def test_predict_proba_predict_and_score_mean_what_they_mean_in_scikit_learn() -> None:
    X, y, centres = clusters(seed=1)
    recogniser = Recogniser().fit(X, y)
    new, truth, _ = clusters(per_class=10, seed=2, centres=centres)
    probabilities = recogniser.predict_proba(new)
    assert probabilities.shape == (30, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-9)
    labels = recogniser.predict(new)
    assert labels.shape == (30,) and set(labels) <= {*NAMES, UNKNOWN_LABEL}
    assert recogniser.score(new, truth) == pytest.approx(np.mean(labels == truth))
    assert recogniser.score(new, truth) >= 0.9
    assert set(recogniser.predict(new, threshold=np.inf)) == {UNKNOWN_LABEL}
    assert recogniser.score(new, truth) <= np.mean(np.asarray(NAMES, object)[probabilities.argmax(1)] == truth)


def test_strangers_are_called_unknown() -> None:
    X, y, _ = clusters(seed=5)
    recogniser = Recogniser().fit(X, y)
    far = normalise(np.random.default_rng(6).normal(size=(40, X.shape[1])))
    assert np.mean(recogniser.predict(far) == UNKNOWN_LABEL) >= 0.7


def test_whitening_is_learned_and_applied() -> None:
    X, y, _ = clusters(seed=7)
    recogniser = Recogniser(whiten=True).fit(X, y)
    assert recogniser.whitening_.shape == (16, 16)
    np.testing.assert_allclose(np.linalg.norm(recogniser.reference_.X, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(recogniser.reference_.X, X)


def test_closed_set_names_every_face() -> None:
    X, y, _ = clusters(seed=8)
    recogniser = Recogniser(calibrate=False).fit(X, y)
    assert recogniser.calibration_ is None and recogniser.threshold_ == -np.inf
    far = normalise(np.random.default_rng(9).normal(size=(20, X.shape[1])))
    assert UNKNOWN_LABEL not in set(recogniser.predict(far))


def test_seen_rows_are_not_scored_to_calibrate() -> None:
    """With `seen` (rows a fine-tuned network learned from), only the other rows are scored as members."""
    X, y, _ = clusters(seed=10)
    seen = np.arange(len(y)) % 3 != 0
    recogniser = Recogniser().fit(X, y, seen=seen)
    assert recogniser.calibration_.curve.n_members == int((~seen).sum())
    assert Recogniser().fit(X, y).calibration_.curve.n_members == len(y)


def test_round_trip_through_the_model_file_arrays() -> None:
    X, y, _ = clusters(seed=11)
    recogniser = Recogniser("svm", whiten=True).fit(X, y)
    meta, arrays = recogniser.to_bundle()
    assert {"head/coef", "reference/X", "reference/y", "whitening", "calibration/curve/thresholds"} <= set(arrays)
    again = Recogniser.from_bundle(meta, arrays)
    assert again.get_params() == recogniser.get_params() and again.classes_ == recogniser.classes_
    new = normalise(np.random.default_rng(12).normal(size=(15, X.shape[1])))
    first, second = recogniser.evidence(new), again.evidence(new)
    for name in ("probabilities", "similarity", "stranger"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))
    assert part("calibration", arrays).keys() == {f"score/{k}" for k in ("cue_weights", "cue_bias", "cue_mean",
                                                                        "cue_scale")} | {
        f"curve/{k}" for k in ("thresholds", "strangers_accepted", "members_rejected")}


def test_without_negatives_the_model_is_the_one_fitted_before_they_existed() -> None:
    """`negatives=None` is today's model, array for array; the model file gains nothing."""
    X, y, _ = clusters(seed=13)
    before_meta, before = Recogniser().fit(X, y).to_bundle()
    meta, arrays = Recogniser().fit(X, y, negatives=None).to_bundle()
    assert meta == before_meta and arrays.keys() == before.keys()
    for name in arrays:
        np.testing.assert_array_equal(arrays[name], before[name])
    assert "negatives" not in meta["calibration"]


def look_alikes(centre: np.ndarray, people: int, per_person: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Faces of `people` people who each look somewhat like `centre` (a member), and the person of each."""
    rng = np.random.default_rng(seed)
    faces = []
    for _ in range(people):
        own = normalise(centre[None, :] + 1.2 * normalise(rng.normal(size=(1, len(centre)))))
        faces.append(normalise(own + 0.2 * rng.normal(size=(per_person, len(centre)))))
    return np.vstack(faces).astype(np.float32), np.repeat(np.arange(people), per_person)


def test_negatives_are_calibrated_on_and_kept_apart_in_the_curve() -> None:
    """Negatives join the calibration: the curve counts them apart, the simulated strangers and the members as
    before; each is scored by a head that never saw its person, so the fitted model (which learned them) names
    no more of them than the curve says."""
    X, y, centres = clusters(seed=14)
    negatives, people = look_alikes(centres[0], 8, 5, seed=15)
    plain, informed = Recogniser().fit(X, y), Recogniser().fit(X, y, negatives=negatives, negative_people=people)
    calibration = informed.calibration_
    assert calibration.curve.n_negatives == 40 and informed.n_negatives_ == 40 and plain.n_negatives_ == 0
    assert calibration.curve.n_strangers == plain.calibration_.curve.n_strangers
    assert calibration.curve.n_members == plain.calibration_.curve.n_members
    assert np.mean(informed.predict(negatives) != UNKNOWN_LABEL) <= calibration.negatives_accepted
    assert plain.calibration_.negatives_accepted is None
    meta, arrays = informed.to_bundle()
    assert meta["calibration"]["negatives"] == 40 and "calibration/curve/negatives_accepted" in arrays
    again = Recogniser.from_bundle(meta, arrays)
    assert again.calibration_.negatives_accepted == calibration.negatives_accepted
    assert again.n_negatives_ == 40 and again.calibration_.curve.n_negatives == 40
    np.testing.assert_array_equal(again.negatives_.X, negatives)
    assert again.negatives_.people.tolist() == [str(p) for p in people], "kept to fit the model again"
    np.testing.assert_array_equal(again.predict(negatives), informed.predict(negatives))


def test_negatives_are_learned_as_one_more_class_that_no_member_gets() -> None:
    """The head learns the negatives as a class of their own: new look-alikes of a member (other people than the
    negatives) are named less often, members as often; probabilities stay the members' alone, summing to 1."""
    X, y, centres = clusters(seed=20, spread=0.15)
    negatives, people = look_alikes(centres[0], 10, 6, seed=21)
    strangers, _ = look_alikes(centres[0], 10, 6, seed=22)
    plain, informed = Recogniser().fit(X, y), Recogniser().fit(X, y, negatives=negatives, negative_people=people)
    assert informed.head_.predict_proba(X[:2]).shape == (2, len(NAMES) + 1)
    probabilities = informed.predict_proba(strangers)
    assert probabilities.shape == (len(strangers), len(NAMES))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    named = {name: np.mean(model.predict(strangers) != UNKNOWN_LABEL)
             for name, model in (("plain", plain), ("informed", informed))}
    assert named["informed"] < named["plain"], named
    members, truth, _ = clusters(per_class=20, seed=23, centres=centres, spread=0.15)
    assert informed.score(members, truth) >= plain.score(members, truth) - 0.05


def test_negative_people_must_be_one_per_negative() -> None:
    X, y, centres = clusters(seed=24)
    negatives, people = look_alikes(centres[0], 3, 4, seed=25)
    with pytest.raises(ValueError, match="negative_people"):
        Recogniser().fit(X, y, negatives=negatives, negative_people=people[:-1])


def test_negatives_must_match_the_members_dimension() -> None:
    X, y, _ = clusters(seed=19)
    with pytest.raises(ValueError, match="features"):
        Recogniser().fit(X, y, negatives=np.ones((3, X.shape[1] + 1), np.float32))


def test_one_class_is_refused() -> None:
    X, _, _ = clusters()
    with pytest.raises(WhosthatError, match="at least two"):
        Recogniser().fit(X, np.array(["ana"] * len(X), dtype=object))


#: scikit-learn checks an open-set recogniser cannot pass, and why: its `predict` answers "unknown" for a face
#: below the stranger threshold, so its names are an object array that may hold a label outside `classes_`
#: (the checks compare predictions numerically, or sort them together with integer labels).
OPEN_SET_EXEMPT = {
    "check_classifier_data_not_an_array", "check_classifiers_train", "check_estimators_pickle",
    "check_fit_idempotent", "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_supervised_y_2d",
}


def failed_checks(estimator: Recogniser) -> set[str]:
    import warnings

    from sklearn.utils.estimator_checks import check_estimator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    assert sum(r["status"] == "passed" for r in results) >= 40
    return {r["check_name"] for r in results if r["status"] == "failed"}


def test_a_closed_set_recogniser_passes_every_scikit_learn_check() -> None:
    assert failed_checks(Recogniser(calibrate=False)) == set()


def test_an_open_set_recogniser_fails_only_the_checks_listed_with_their_reason() -> None:
    assert failed_checks(Recogniser()) == OPEN_SET_EXEMPT


def test_clone_set_params_and_unfitted_use() -> None:
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    recogniser = Recogniser("knn", head_params={"k": 3}, seed=2)
    copy = clone(recogniser).set_params(seed=5)
    assert copy.get_params() == {**recogniser.get_params(), "seed": 5} and copy is not recogniser
    with pytest.raises(NotFittedError):
        copy.predict(np.zeros((2, 16), np.float32))
    X, y, _ = clusters()
    fitted = copy.fit(X, y)
    assert fitted.n_features_in_ == 16
    with pytest.raises(ValueError, match="16 features"):
        fitted.predict(np.zeros((2, 8), np.float32))
    assert not hasattr(clone(fitted), "classes_")
