"""`whosthat learn` / `Index.learn`: the index's model fitted again from its corrections, and the index named by
it from the vectors it holds, on a real collection of members, a new person and look-alike idols."""

from __future__ import annotations

from pathlib import Path

import pytest

import whosthat
from collection.photos import copy_photos, member_photos
from conftest import DATASETS, KPOP15, KPOP_STRANGERS, images_of, require
from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.collection.learn import NothingToLearnError

CELEBRITY5 = DATASETS / "celebrity5" / "train"
NEW_PERSON = "madonna"
IDOLS = KPOP_STRANGERS[:2]


@pytest.fixture
def opened(model_file: Path, session_cache: Path, tmp_path: Path) -> Index:
    """An index of members' photos, ten photos of a person the model does not know and two kpop15 idols."""
    require(CELEBRITY5)
    require(KPOP15)
    photos = copy_photos(tmp_path / "photos", {
        **{f"members/{m}": paths for m, paths in member_photos(2).items()},
        f"new/{NEW_PERSON}": images_of(CELEBRITY5 / NEW_PERSON)[:10],
        **{f"idols/{idol}": images_of(KPOP15 / idol)[:6] for idol in IDOLS}})
    return index(model_file, photos, cache_dir=session_cache)


def photos_named(opened: Index, name: str, folder: str) -> int:
    """Photos under `folder` where `find` names `name` on some face."""
    return sum(hit.name.startswith(folder) for hit in opened.find(name, limit=None))


def test_a_named_person_becomes_a_member_and_strangers_are_learned(opened: Index, tmp_path: Path) -> None:
    """Five photos of the new person named, and idols' faces said to be strangers: the new model knows her,
    names her other photos, records what it learned, and the index is named by it without reading a photo;
    taken back, the corrections are forgotten by the next learn."""
    new_photos = sorted(p for p in (opened.collection / "new" / NEW_PERSON).iterdir())
    for photo in new_photos[:5]:
        opened.move(f"new/{NEW_PERSON}/{photo.name}", 0, NEW_PERSON)
    idol_photos = sorted((opened.collection / "idols" / IDOLS[0]).iterdir())[:3]
    for photo in idol_photos:
        opened.stranger(f"idols/{IDOLS[0]}/{photo.name}", 0)
    report = opened.learn(tmp_path / "learned.wt")
    assert report.confirmed == {NEW_PERSON: 5} and report.nobody == 3 and report.new_members == (NEW_PERSON,)
    assert report.run.added == report.run.changed == 0, "no photo was read again"
    assert report.run.relabelled == opened.summary().photos
    learned = whosthat.load(report.model_file)
    assert NEW_PERSON in learned.classes and learned.training.learned.confirmed == {NEW_PERSON: 5}
    assert NEW_PERSON in opened.members and opened.summary().labeller.source == str(report.model_file)
    assert photos_named(opened, NEW_PERSON, "new/") >= 8, "her photos not corrected are named too"
    for _ in range(len(idol_photos) + 5):
        opened.undo()
    again = opened.learn(tmp_path / "forgotten.wt")
    assert again.confirmed == {} and again.nobody == 0
    assert NEW_PERSON not in whosthat.load(again.model_file).classes


def test_nothing_to_learn_is_one_line(opened: Index, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(NothingToLearnError, match="no corrections to learn from"):
        opened.learn(tmp_path / "x.wt")
    assert main(["learn", str(opened.directory), "--out", str(tmp_path / "x.wt")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "no corrections to learn from" in error[0] and "whosthat label" in error[0]
    assert not (tmp_path / "x.wt").exists()


def test_whosthat_learn_prints_what_it_learned(opened: Index, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    photo = sorted((opened.collection / "new" / NEW_PERSON).iterdir())[0]
    assert main(["label", str(opened.directory), f"new/{NEW_PERSON}/{photo.name}", NEW_PERSON]) == 0
    assert main(["learn", str(opened.collection), "--out", str(tmp_path / "v2.wt")]) == 0
    out = capsys.readouterr().out
    assert f"faces confirmed ({NEW_PERSON} 1)" in out and f"new members: {NEW_PERSON}" in out
    assert f"model written to {tmp_path / 'v2.wt'}" in out and "faces per name:" in out
