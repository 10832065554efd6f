"""`whosthat people`: the strangers of a collection grouped into candidate people, incrementally, exported and
trained on: recurring strangers become members."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

import whosthat
from collection.photos import copy_photos, stranger_photos
from conftest import BLACKPINK_MEMBERS, KPOP15, KPOP_STRANGERS, images_of, require
from whosthat.cli import main
from whosthat.collection import index
from whosthat.collection.grouping import NONE, Faces, group
from whosthat.collection.people import choose_distance, space_of
from whosthat.models.model import Model
from whosthat.vision.cache import EmbeddingCache


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


def test_people_heeds_corrections(built: whosthat.Index, tmp_path: Path) -> None:
    """A group hidden (every face said to be a stranger) is not grouped again, and a face given a name leaves its
    group: `people` asks only about faces nobody has answered for."""
    opened = whosthat.Index(shutil.copytree(built.directory, tmp_path / "index"))
    before = opened.people(restart=True)
    first = before.people
    assert len(first) >= 2
    hidden, named = first[0], first[1]
    for face in hidden.faces:
        opened.stranger(face.name, face.face)
    opened.move(named.faces[0].name, named.faces[0].face, "somebody")
    again = opened.people(restart=True)
    keys = {(f.content_hash, f.face) for p in again.people for f in p.faces}
    assert not keys & {(f.content_hash, f.face) for f in hidden.faces}
    assert (named.faces[0].content_hash, named.faces[0].face) not in keys
    assert again.unknown_faces == before.unknown_faces - len(hidden.faces) - 1


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


def two_people_and_a_chain(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """20 faces of one person, 20 of another (their centres orthogonal), and 15 faces on the arc between them,
    each a small step from the next: unit vectors, and whose each is (0, 1; 2 for the chain)."""
    first, second = np.eye(16)[:2]
    angles = np.linspace(0.1, np.pi / 2 - 0.1, 15)
    vectors = np.concatenate([first + rng.normal(0, 0.05, (20, 16)), second + rng.normal(0, 0.05, (20, 16)),
                              np.cos(angles)[:, None] * first + np.sin(angles)[:, None] * second])
    unit = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit, np.repeat([0, 1, 2], [20, 20, 15])


def test_a_chain_of_look_alikes_does_not_join_two_people() -> None:
    vectors, who = two_people_and_a_chain(np.random.default_rng(0))
    similarity = 1.0 - 0.08  # each chain face is within the distance of the next: density grouping makes one group
    chained = connected_components(vectors @ vectors.T >= similarity, directed=False)[1]
    assert len(set(chained.tolist())) == 1
    person = group(Faces(vectors, np.arange(len(vectors)), np.full(len(vectors), NONE)), similarity, 3)
    first, second = set(person[who == 0].tolist()), set(person[who == 1].tolist())
    assert len(first) == 1 and len(second) == 1 and first != second and NONE not in first | second


def test_grouping_keeps_given_people_and_one_face_per_photo() -> None:
    vectors, who = two_people_and_a_chain(np.random.default_rng(1))
    keep = who < 2
    vectors, who = vectors[keep], who[keep]
    photos = np.arange(len(vectors))
    photos[1] = photos[0]  # two faces of the first person in one photo: only one of them joins
    given = np.where((who == 0) & (np.arange(len(who)) >= 10), 7, NONE)
    person = group(Faces(vectors, photos, given), 0.92, 3)
    assert (person[given >= 0] == 7).all(), "faces grouped before keep their person"
    assert sorted(person[:2].tolist())[0] == NONE and 7 in person[:2].tolist()
    assert set(person[2:10].tolist()) == {7}, "new faces of a known person join them"
    assert set(person[who == 1].tolist()) == {8}, "a new person is numbered after the highest given"
    waiting = group(Faces(vectors[who == 1][:2], np.arange(2), np.full(2, NONE)), 0.92, 3)
    assert (waiting == NONE).all(), "fewer than min_faces faces wait"
    assert len(group(Faces(np.zeros((0, 16), np.float32), np.zeros(0, np.int64), np.zeros(0, np.int64)), 0.9, 3)) == 0


def test_look_alike_strangers_stay_apart_on_real_faces(blackpink_model: Model, session_cache: Path) -> None:
    """kpop15 idols the blackpink model never saw: linking every pair within the chosen distance joins them all,
    the grouping keeps each idol apart."""
    require(KPOP15)
    paths = [p for idol in KPOP_STRANGERS for p in images_of(KPOP15 / idol)]
    cache = EmbeddingCache(session_cache)
    try:
        found = list(blackpink_model.extract_paths(paths, cache=cache))
    finally:
        cache.close()
    faces = [(n, path.parent.name, vector) for n, (path, subjects) in enumerate(zip(paths, found))
             for vector in subjects.embeddings]
    space = space_of(blackpink_model)
    vectors = space.map(np.array([v for _, _, v in faces], np.float32))
    who = np.array([w for _, w, _ in faces])
    similarity = 1.0 - choose_distance(space)
    chained = connected_components(vectors @ vectors.T >= similarity, directed=False)[1]
    assert Counter(chained.tolist()).most_common(1)[0][1] >= 0.9 * len(vectors)
    person = group(Faces(vectors, np.array([n for n, _, _ in faces]), np.full(len(vectors), NONE)), similarity, 3)
    grouped = person >= 0
    assert grouped.mean() >= 0.8 and len(set(person[grouped].tolist())) >= len(KPOP_STRANGERS)
    shares = [Counter(who[person == p].tolist()).most_common(1)[0][1] / (person == p).sum()
              for p in set(person[grouped].tolist())]
    precision = sum(s * (person == p).sum() for s, p in zip(shares, set(person[grouped].tolist()))) / grouped.sum()
    assert precision >= 0.9 and min(shares) >= 0.8, (precision, shares)
