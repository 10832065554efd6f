"""Ensembles of real models: probabilities averaged, one model file, the same commands."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

import whosthat
from whosthat.cli import main
from whosthat.core.errors import WhosthatError
from whosthat.models.ensemble import Ensemble
from whosthat.report import HEADINGS
from whosthat.serve import create_app
from whosthat.training.ensembles import rank_combinations
from whosthat.vision.embedders.combined import Concatenated
from whosthat.vision.face import Face


@pytest.fixture(scope="module")
def anime_models(anime_train_dir: Path, anime_test_dir: Path, session_cache: Path, tmp_path_factory
                 ) -> list[Path]:
    folder = tmp_path_factory.mktemp("anime-models")
    paths = []
    for embedder, head in (("mobilenetv2", "logistic"), ("efficientnet-lite0", "svm")):
        path = folder / f"{embedder}.wt"
        whosthat.train(anime_train_dir, embedder=embedder, head=head, test_dir=anime_test_dir, out=path,
                       cache_dir=session_cache)
        paths.append(path)
    return paths


def test_ensemble_averages_its_members(anime_models: list[Path], anime_test_dir: Path, tmp_path: Path) -> None:
    members = [whosthat.load(p) for p in anime_models]
    ensemble = Ensemble(members)
    photo = next((anime_test_dir / "yagami_kou").iterdir())
    combined = ensemble.predict(photo)[0].probabilities
    each = [m.predict(photo)[0].probabilities for m in members]
    for name in ensemble.classes:
        assert combined[name] == pytest.approx(np.mean([p[name] for p in each]), abs=1e-5)

    ensemble.save(tmp_path / "both.wt")
    loaded = whosthat.load(tmp_path / "both.wt")
    assert isinstance(loaded, Ensemble) and len(loaded.members) == 2
    assert loaded.predict(photo).to_dict() == ensemble.predict(photo).to_dict()


def test_ensemble_command_scores_on_the_held_out_photos(anime_models: list[Path], tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "both.wt"
    assert main(["ensemble", *map(str, anime_models), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "ensemble on the test photos the models held out" in text
    assert whosthat.load(out).test.metrics.accuracy >= 0.8
    assert main(["evaluate", str(out), str(whosthat.load(anime_models[0]).training.split.test_dir)]) == 0


def test_an_ensemble_file_goes_wherever_a_model_file_goes(anime_models: list[Path], anime_test_dir: Path,
                                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """report, evaluate, predict --json and serve on an ensemble file, as on a single model's."""
    out = tmp_path / "both.wt"
    assert main(["ensemble", *map(str, anime_models), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["report", str(out)]) == 0
    assert capsys.readouterr().out.strip() == f"report: {tmp_path / 'both.html'}"
    page = (tmp_path / "both.html").read_text()
    assert all(f"<h2>{heading}</h2>" in page for heading in HEADINGS)
    assert "ensemble of 2" in page and "misclassified" in page
    assert main(["evaluate", str(out), str(anime_test_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == len(list(anime_test_dir.rglob("*.*")))
    photo = next((anime_test_dir / "yagami_kou").iterdir())
    assert main(["predict", str(out), str(photo), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["faces"] and set(printed["faces"][0]["probabilities"]) == set(whosthat.load(out).classes)
    with TestClient(create_app(whosthat.load(out))) as client:
        info = client.get("/v1/model").json()
        assert info["pipeline"]["head"]["name"] == "mean of members" and info["metrics"]["photos"] > 0
        answer = client.post("/v1/predict", files={"file": (photo.name, photo.read_bytes(), "image/jpeg")})
        assert answer.status_code == 200 and answer.json()["faces"][0] == printed["faces"][0]


def test_models_of_other_subjects_or_people_are_refused(anime_models: list[Path], kpop_model) -> None:
    anime = whosthat.load(anime_models[0])
    with pytest.raises(WhosthatError, match="find their subjects differently|know different people"):
        Ensemble([anime, kpop_model])
    with pytest.raises(WhosthatError, match="at least two"):
        Ensemble([anime])


def test_ensemble_embeddings_are_cached_apart_from_the_concatenated_embedder(anime_models: list[Path]) -> None:
    """Members' vectors side by side (each of unit length) must not be mistaken in the cache for the same
    embedders concatenated and normalised again (a model trained with that pair)."""
    ensemble = Ensemble([whosthat.load(p) for p in anime_models])
    parts = [m.extractor().embedder for m in ensemble.members]
    joined = Concatenated(parts)
    assert ensemble.extractor().embedder.identity != joined.identity
    chips = [parts[0].chips(np.zeros((96, 96, 3), np.uint8), [Face.whole_image(96, 96)])[0]] * 2
    side_by_side = ensemble.extractor().embedder.embed(list(zip(chips, chips)))
    np.testing.assert_allclose(np.linalg.norm(side_by_side, axis=1), np.sqrt(2), atol=1e-5)


@pytest.fixture(scope="module")
def knn_model(anime_train_dir: Path, anime_test_dir: Path, session_cache: Path, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("anime-knn") / "knn.wt"
    whosthat.train(anime_train_dir, embedder="mobilenetv2", head="knn", test_dir=anime_test_dir, out=path,
                   cache_dir=session_cache)
    return path


def test_best_combination_is_chosen_on_validation_photos_the_heads_had_not_learned(
        anime_models: list[Path], knn_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [*anime_models, knn_model]
    models = [whosthat.load(p) for p in paths]
    split = models[0].training.split.split
    validation = models[0].training.validation.paths
    assert validation and set(validation) <= set(split.val) and not set(validation) & set(split.train)
    ranked = rank_combinations(models)
    assert [len(c.members) for c in ranked].count(2) == 3 and [len(c.members) for c in ranked].count(3) == 1
    assert [c.accuracy for c in ranked] == sorted((c.accuracy for c in ranked), reverse=True)
    assert ranked[0].photos == len(validation)

    out = tmp_path / "best.wt"
    assert main(["ensemble", *map(str, paths), "--best", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"validation accuracy ({len(validation)} photos" in text
    kept = next(line for line in text.splitlines() if line.startswith("keeping "))
    best = whosthat.load(out)
    assert len(best.members) == len(ranked[0].members) == kept.count(".wt")
    assert best.test.metrics.accuracy >= 0.8


def test_best_needs_the_validation_predictions(anime_models: list[Path]) -> None:
    older = whosthat.load(anime_models[0])
    older.training = replace(older.training, validation=None)  # as in a model trained without validation photos
    with pytest.raises(WhosthatError, match="no validation predictions kept"):
        rank_combinations([older, whosthat.load(anime_models[1])])


def test_best_says_so_when_no_two_models_find_subjects_alike(anime_models: list[Path], anime_train_dir: Path,
                                                             anime_test_dir: Path, session_cache: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    character = tmp_path / "character.wt"
    whosthat.train(anime_train_dir, subject="character", embedder="mobilenetv2", test_dir=anime_test_dir,
                   out=character, cache_dir=session_cache)
    assert main(["ensemble", str(anime_models[0]), str(character), "--best", "--out", str(tmp_path / "x.wt")]) == 2
    assert "no two of these models find their subjects the same way" in capsys.readouterr().err
    assert not (tmp_path / "x.wt").exists()
