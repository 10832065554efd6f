"""`whosthat people`: the strangers of a collection grouped into candidate people, incrementally, exported and
trained on: recurring strangers become members."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

import whosthat
from collection.photos import copy_photos, stranger_photos
from conftest import BLACKPINK_MEMBERS
from whosthat.cli import main
from whosthat.collection import index


def groups(people) -> list[Counter]:
    """Per person, how many of their faces come from each stranger's folder."""
    return [Counter(f.name.split("/")[1] for f in p.faces) for p in people]


def test_people_groups_each_recurring_stranger_apart(own_collection: Path, model_file: Path,
                                                      session_cache: Path) -> None:
    opened = index(model_file, own_collection, cache_dir=session_cache)
    report = opened.people()
    found = groups(report.people)
    assert len(found) == 2 and all(len(g) == 1 for g in found), (found, report.distance, report.waiting)
    assert {next(iter(g)) for g in found} == {"ben_afflek", "mindy_kaling"}
    assert all(sum(g.values()) >= 3 for g in found)
    assert 0.1 < report.distance < 0.6 and report.unknown_faces >= 10


def test_people_is_incremental_a_grown_collection_adds_to_the_groups(own_collection: Path, model_file: Path,
                                                                      session_cache: Path) -> None:
    opened = index(model_file, own_collection, cache_dir=session_cache)
    first = {p.label: Counter(f.name.split("/")[1] for f in p.faces) for p in opened.people().people}
    mindy_kaling = next(label for label, g in first.items() if "mindy_kaling" in g)
    copy_photos(own_collection, {"more/mindy_kaling": stranger_photos({"mindy_kaling": 4}, skip=5)["mindy_kaling"],
                                 "more/jerry_seinfeld": stranger_photos({"jerry_seinfeld": 5})["jerry_seinfeld"]})
    opened = index(model_file, own_collection, cache_dir=session_cache)
    report = opened.people()
    after = {p.label: p for p in report.people}
    assert set(first) < set(after), "the groups made before keep their number; a new one is added"
    grown = Counter(f.name.split("/")[1] for f in after[mindy_kaling].faces)
    assert grown["mindy_kaling"] >= first[mindy_kaling]["mindy_kaling"] + 2 and set(grown) == {"mindy_kaling"}
    new = [after[label] for label in set(after) - set(first)]
    assert len(new) == 1 and all(f.name.startswith("more/jerry_seinfeld/") for f in new[0].faces)
    assert report.grouped_now >= 6
    again = opened.people()
    assert again.grouped_now == 0 and [p.label for p in again.people] == [p.label for p in report.people]


def test_recurring_strangers_become_members_in_two_commands(own_collection: Path, model_file: Path,
                                                             blackpink_train_dir: Path, session_cache: Path,
                                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "photos.index"
    index(model_file, own_collection, index=folder, cache_dir=session_cache)
    members = tmp_path / "members"
    for member in BLACKPINK_MEMBERS:
        shutil.copytree(blackpink_train_dir / member, members / member, symlinks=True)
    assert main(["people", str(folder), "--export", str(members), "--json"]) == 0
    people = json.loads(capsys.readouterr().out)["people"]
    assert len(people) == 2
    sheets = folder / "people"
    assert (sheets / "index.html").is_file() and all((sheets / f"{p['person']}.html").is_file() for p in people)
    mindy_kaling = next(p["person"] for p in people if all("/mindy_kaling/" in f["path"] for f in p["faces"]))
    crops = sorted((members / mindy_kaling).iterdir())
    assert len(crops) >= 3 and all(whosthat.load_image(c).shape[:2] == (320, 320) for c in crops)
    (members / mindy_kaling).rename(members / "mindy_kaling")
    shutil.rmtree(members / next(p["person"] for p in people if p["person"] != mindy_kaling))

    new_model = whosthat.train(members, out=tmp_path / "v2.wt", embedder="facenet", test_fraction=0.0,
                               cache_dir=session_cache)
    assert "mindy_kaling" in new_model.classes
    relabelled = index(tmp_path / "v2.wt", index=folder, relabel=True)
    hits = relabelled.find("mindy_kaling", limit=None)
    assert sum(h.name.startswith("strangers/mindy_kaling/") for h in hits) >= 4
    assert not any(h.name.startswith("strangers/ben_afflek/") for h in hits)
    assert len(relabelled.people().people) <= 1, "mindy_kaling left the candidates"
