"""`whosthat sort` and `whosthat people --export` under hostile input: member names and record entries that lead
out of the folder, photos deleted after they were copied, another collection's sort folder, file names at the
file system's limit, runs that fail midway, places that cannot be written, and person folders renamed after an
export. Nothing is written outside the folder asked for, nothing whosthat did not make is removed."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from whosthat.cli import main
from whosthat.collection import Index, index
from whosthat.collection.sort import SORT_MANIFEST

EXPORT_RECORD = ".whosthat-export.json"
#: 250 characters with ".jpg": long enough that the name sort adds `-<hash8>` to is over 255 bytes.
LONG = "m" * 245


def renamed_model(model_file: Path, out: Path, renames: dict[str, str]) -> Path:
    """A copy of a real model file whose members are renamed in its manifest.json (the arrays unchanged)."""
    with zipfile.ZipFile(model_file) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        arrays = archive.read("arrays.npz")
    manifest["classes"] = [renames.get(c, c) for c in manifest["classes"]]
    manifest["recogniser"]["classes"] = [renames.get(c, c) for c in manifest["recogniser"]["classes"]]
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("arrays.npz", arrays)
    return out


def one_error_line(err: str, *words: str) -> str:
    """The one error line a refused command printed last, checked to name each of `words`."""
    lines = err.strip().splitlines()
    assert lines[-1].startswith("whosthat: error: ") and sum("error" in line for line in lines) == 1, err
    assert all(w in lines[-1] for w in words), (lines[-1], words)
    return lines[-1]


@pytest.fixture(scope="module")
def hostile(collection: Path, model_file: Path, session_cache: Path,
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Index, Path]:
    """A copy of the collection indexed with a model whose members are named `../../escaped`, an absolute path
    and the sort record's own name; and the folder that holds it all (where an escape would write)."""
    base = tmp_path_factory.mktemp("hostile")
    photos = shutil.copytree(collection, base / "photos", ignore=shutil.ignore_patterns(".whosthat-index"))
    renames = {"jennie_kim": "../../escaped", "lisa_manoban": SORT_MANIFEST, "jisoo_kim": str(base / "absolute")}
    model = renamed_model(model_file, base / "hostile.wt", renames)
    return index(model, photos, index=base / "index", cache_dir=session_cache), base


@pytest.fixture(scope="module")
def odd(collection: Path, model_file: Path, session_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Index:
    """A copy of the collection where every mindy_kaling photo has a 250-character name (one of them also in a
    second folder, so sort adds a hash to it), indexed."""
    photos = Path(shutil.copytree(collection, tmp_path_factory.mktemp("odd") / "photos",
                                  ignore=shutil.ignore_patterns(".whosthat-index")))
    for n, photo in enumerate(sorted((photos / "strangers" / "mindy_kaling").iterdir())):
        photo.rename(photo.with_name(f"{LONG}{n}.jpg"))
    (photos / "more").mkdir()
    shutil.copyfile(photos / "strangers" / "mindy_kaling" / f"{LONG}0.jpg", photos / "more" / f"{LONG}0.jpg")
    return index(model_file, photos, cache_dir=session_cache)


def test_hostile_member_names_are_not_sorted_and_nothing_is_written_outside(hostile: tuple[Index, Path],
                                                                            capsys: pytest.CaptureFixture) -> None:
    opened, base = hostile
    into = base / "run" / "sorted"
    assert main(["sort", str(opened.directory), "--into", str(into), "--copy"]) == 0
    err = capsys.readouterr().err
    assert sorted(p.name for p in base.iterdir()) == ["hostile.wt", "index", "photos", "run"], "nothing escaped"
    assert sorted(p.name for p in into.iterdir()) == [SORT_MANIFEST, "rose_park", "unknown"]
    record = json.loads((into / SORT_MANIFEST).read_text())
    assert record["entries"] and all(t.split("/")[0] in ("rose_park", "unknown") for t in record["entries"])
    assert "'../../escaped' are not sorted" in err and f"{SORT_MANIFEST}' are not sorted" in err
    assert f"'{base / 'absolute'}' are not sorted" in err


def test_record_entries_that_lead_outside_are_never_touched(built: Index, tmp_path: Path) -> None:
    into = tmp_path / "run" / "sorted"
    built.sort(into)
    record = json.loads((into / SORT_MANIFEST).read_text())
    source = next(iter(record["entries"].values()))["source"]
    victims = [tmp_path / "run" / "victim.jpg", tmp_path / "absolute.jpg"]
    for victim in victims:
        victim.symlink_to(source)
    record["entries"]["../victim.jpg"] = record["entries"][str(victims[1])] = {"source": source, "mode": "link"}
    (into / SORT_MANIFEST).write_text(json.dumps(record))
    report = built.sort(into)
    assert all(v.is_symlink() for v in victims), "the record's word is not enough to delete outside the folder"
    assert report.removed == 0 and sum("ignored" in n for n in report.notes) == 2


def test_a_folder_holding_another_collections_sort_is_refused(built: Index, hostile: tuple[Index, Path],
                                                              tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    into = tmp_path / "sorted"
    assert main(["sort", str(built.directory), "--into", str(into)]) == 0
    before = sorted(str(p.relative_to(into)) for p in into.rglob("*"))
    capsys.readouterr()
    assert main(["sort", str(hostile[0].directory), "--into", str(into)]) == 2
    one_error_line(capsys.readouterr().err, str(into), "another collection", str(built.collection))
    assert sorted(str(p.relative_to(into)) for p in into.rglob("*")) == before


def test_copies_whose_photo_is_gone_are_kept(own_collection: Path, model_file: Path, session_cache: Path,
                                             tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    opened = index(model_file, own_collection, index=tmp_path / "index", cache_dir=session_cache)
    into = tmp_path / "sorted"
    assert main(["sort", str(opened.directory), "--into", str(into), "--copy"]) == 0
    entries = json.loads((into / SORT_MANIFEST).read_text())["entries"]
    target, entry = next((t, e) for t, e in entries.items() if "/members/" in e["source"])
    copy = (into / target).read_bytes()
    Path(entry["source"]).unlink()
    capsys.readouterr()
    assert main(["sort", str(opened.directory), "--into", str(into), "--copy"]) == 0, "the index still has it"
    assert (into / target).read_bytes() == copy
    assert "because their photo is gone" in capsys.readouterr().err
    index(model_file, own_collection, index=tmp_path / "index", cache_dir=session_cache)
    assert main(["sort", str(opened.directory), "--into", str(into), "--copy"]) == 0, "the index dropped it"
    assert (into / target).read_bytes() == copy
    assert target in capsys.readouterr().err
    assert target in json.loads((into / SORT_MANIFEST).read_text())["entries"], "still whosthat's own copy"


def test_a_sort_that_fails_midway_owns_what_it_made(built: Index, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    into = tmp_path / "sorted"
    into.mkdir()
    (into / "unknown").write_text("a file of the user's where sort wants a folder")
    assert main(["sort", str(built.directory), "--into", str(into)]) == 2
    one_error_line(capsys.readouterr().err, str(into / "unknown"), "a file is where a folder must be")
    made = [p for p in into.rglob("*") if p.is_symlink()]
    assert made, "photos sorted into members' folders came before the first one for unknown/"
    (into / "unknown").unlink()
    report = built.sort(into)
    assert report.left_alone == () and report.kept == len(made)
    assert report.made + report.kept == sum(report.folders.values())


def test_sort_and_export_fit_long_file_names(odd: Index, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    into = tmp_path / "sorted"
    assert main(["sort", str(odd.directory), "--into", str(into), "--copy"]) == 0
    sorted_names = [p.name for p in into.rglob("*.jpg")]
    long = [n for n in sorted_names if n.startswith(LONG[:200])]
    assert len(long) >= 2 and all(n.endswith(".jpg") and len(os.fsencode(n)) <= 255 for n in long), long
    assert all(len(os.fsencode(n)) <= 255 for n in sorted_names)
    exported = tmp_path / "people"
    assert main(["people", str(odd.directory), "--export", str(exported), "--html", str(tmp_path / "sheets")]) == 0
    crops = [p for p in exported.rglob("*.jpg") if p.name.startswith(LONG[:200])]
    assert crops and all(len(os.fsencode(p.name)) <= 255 for p in crops)


def test_export_again_after_a_folder_was_renamed_adds_no_second_person(odd: Index, tmp_path: Path) -> None:
    exported = tmp_path / "people"
    sheets = ["--html", str(tmp_path / "sheets")]
    assert main(["people", str(odd.directory), "--export", str(exported), *sheets]) == 0
    folders = sorted(p.name for p in exported.iterdir() if p.is_dir())
    crops = sorted(p.name for p in exported.rglob("*.jpg"))
    assert folders and (exported / EXPORT_RECORD).is_file()
    (exported / folders[0]).rename(exported / "jisoo")
    thrown_out = next((exported / "jisoo").iterdir())
    thrown_out.unlink()
    assert main(["people", str(odd.directory), "--export", str(exported), *sheets]) == 0
    assert sorted(p.name for p in exported.iterdir() if p.is_dir()) == sorted(["jisoo", *folders[1:]])
    assert sorted(p.name for p in exported.rglob("*.jpg")) == sorted(set(crops) - {thrown_out.name})


def test_unwritable_places_are_one_line(odd: Index, built: Index, tmp_path: Path,
                                        capsys: pytest.CaptureFixture) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    assert main(["sort", str(built.directory), "--into", str(a_file / "sub")]) == 2
    one_error_line(capsys.readouterr().err, str(a_file / "sub"), "cannot write")
    sheets = ["--html", str(tmp_path / "sheets")]
    assert main(["people", str(odd.directory), "--export", str(a_file / "sub"), *sheets]) == 2
    one_error_line(capsys.readouterr().err, str(a_file / "sub"), "cannot write the exported faces")
    assert main(["people", str(odd.directory), "--html", str(a_file / "sub")]) == 2
    one_error_line(capsys.readouterr().err, str(a_file / "sub"), "cannot write the contact sheets")
    exported = tmp_path / "people"
    exported.mkdir()
    (exported / "person_001").write_text("a file of the user's")
    assert main(["people", str(odd.directory), "--export", str(exported), *sheets]) == 2
    one_error_line(capsys.readouterr().err, str(exported / "person_001"), "a file is where a folder must be")

