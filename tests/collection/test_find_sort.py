"""`whosthat find` and `whosthat sort` on the indexed collection."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import BLACKPINK_GROUP, BLACKPINK_MEMBERS
from whosthat.cli import main
from whosthat.collection import Index
from whosthat.collection.sort import SORT_MANIFEST
from whosthat.core.errors import WhosthatError

GROUP = f"group/{BLACKPINK_GROUP.name}"


def test_find_by_name_most_confident_first(built: Index) -> None:
    hits = built.find("jennie_kim", limit=None)
    assert GROUP in [h.name for h in hits]
    assert all(f.label == "jennie_kim" for h in hits for f in h.faces)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert [h.name for h in built.find("jennie_kim", limit=2)] == [h.name for h in hits[:2]]
    assert all(h.path.is_file() for h in hits)


def test_find_with_two_members_gives_photos_of_both(built: Index) -> None:
    hits = built.find(["jennie_kim", "lisa_manoban"], limit=None)
    assert [h.name for h in hits] == [GROUP]
    assert {f.label for f in hits[0].faces} == {"jennie_kim", "lisa_manoban"}
    assert hits[0].score == min(f.confidence for f in hits[0].faces)


def test_find_unsure_least_sure_first(built: Index) -> None:
    everything = built.find(unsure=True, below=1.01, limit=None)
    scores = [h.score for h in everything]
    assert scores == sorted(scores) and everything
    assert all(f.label != "unknown" for h in everything for f in h.faces)
    assert built.find(unsure=True, below=0.0) == []
    cut = scores[len(scores) // 2]
    assert all(h.score < cut for h in built.find(unsure=True, below=cut, limit=None))


def test_find_like_a_photo_finds_that_person_first(built: Index, collection: Path) -> None:
    mindy = sorted((collection / "strangers" / "mindy_kaling").iterdir())
    hits = built.find(like=mindy[0], limit=5)
    assert hits[0].name == f"strangers/mindy_kaling/{mindy[0].name}" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert sum(h.name.startswith("strangers/mindy_kaling/") for h in hits) >= 3, [h.name for h in hits]


def test_find_errors(built: Index, collection: Path) -> None:
    with pytest.raises(WhosthatError, match="no member named 'jenny'"):
        built.find("jenny")
    with pytest.raises(WhosthatError, match="no face found"):
        built.find(like=_faceless(collection))
    with pytest.raises(WhosthatError, match="say what to find"):
        built.find()


def _faceless(collection: Path) -> Path:
    from PIL import Image

    path = collection.parent / "grey.png"
    Image.new("RGB", (200, 200), (128, 128, 128)).save(path)
    return path


def test_cli_find_json_html_and_summary(built: Index, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sheet = tmp_path / "both.html"
    assert main(["find", str(built.collection), "--name", "jennie_kim", "--with", "lisa_manoban", "--json",
                 "--html", str(sheet)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["name"] for line in lines] == [GROUP]
    page = sheet.read_text()
    assert page.count("<img") == 1 and GROUP in page and "jennie_kim" in page
    assert main(["find", str(built.directory)]) == 0
    out = capsys.readouterr().out
    assert "photos" in out and "faces per name:" in out and "unknown" in out
    assert main(["find", str(built.directory), "--with", "lisa_manoban"]) == 2
    assert "--with goes with --name" in capsys.readouterr().err


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file() and ".whosthat-index" not in p.parts}


def test_sort_links_a_photo_into_each_members_folder_and_strangers_into_unknown(built: Index, tmp_path: Path) -> None:
    before = _digests(built.collection)
    into = tmp_path / "sorted"
    report = built.sort(into)
    assert set(report.folders) == {*BLACKPINK_MEMBERS, "unknown"}
    for member in BLACKPINK_MEMBERS:
        link = into / member / BLACKPINK_GROUP.name
        assert link.is_symlink() and link.resolve() == (built.collection / GROUP).resolve()
    assert all(p.is_symlink() for p in into.rglob("*.jpg"))
    faces = built.store.scan(["path", "label"], "face >= 0").to_pylist()
    nobody = {r["path"] for r in faces} - {r["path"] for r in faces if r["label"] != "unknown"}
    assert {p.resolve() for p in (into / "unknown").iterdir()} == {(built.collection / p).resolve() for p in nobody}
    assert sum(p.startswith("strangers/") for p in nobody) == 10, "the strangers' photos"
    assert report.unreadable == 3 and report.made == sum(report.folders.values())
    again = built.sort(into)
    assert (again.made, again.removed, again.kept) == (0, 0, report.made)
    assert _digests(built.collection) == before, "the photos are untouched"


def test_sort_again_removes_only_what_it_made(built: Index, tmp_path: Path) -> None:
    into = tmp_path / "sorted"
    built.sort(into)
    manifest = json.loads((into / SORT_MANIFEST).read_text())
    stale = next(t for t in manifest["entries"] if t.startswith("unknown/"))
    manifest["entries"]["unknown/old.jpg"] = manifest["entries"].pop(stale)
    os.rename(into / stale, into / "unknown" / "old.jpg")
    (into / "unknown" / "mine.jpg").write_bytes(b"the user's own file")
    (into / SORT_MANIFEST).write_text(json.dumps(manifest))
    report = built.sort(into)
    assert report.removed == 1 and report.made == 1
    assert not (into / "unknown" / "old.jpg").exists() and (into / stale).is_symlink()
    assert (into / "unknown" / "mine.jpg").read_bytes() == b"the user's own file"


def test_sort_copies_and_refuses_a_folder_inside_the_collection(built: Index, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture) -> None:
    into = tmp_path / "copies"
    assert main(["sort", str(built.directory), "--into", str(into), "--copy"]) == 0
    copy = into / "rose_park" / BLACKPINK_GROUP.name
    assert not copy.is_symlink() and copy.read_bytes() == (built.collection / GROUP).read_bytes()
    assert "copied" in capsys.readouterr().out
    assert main(["sort", str(built.directory), "--into", str(built.collection / "sorted")]) == 2
    assert "is inside the collection" in capsys.readouterr().err
    assert not (built.collection / "sorted").exists()
