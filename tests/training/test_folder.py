"""Collections: folder-per-class scanning and the stratified split."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from PIL import Image

from conftest import KPOP15, images_of, link_tree, require
from whosthat import DatasetError
from whosthat.training.folder import class_name, content_keys, scan, stratified_split


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (200, 100, 50)).save(path, format="PNG")
    return path


@pytest.fixture
def collection_dir(tmp_path: Path) -> Path:
    """Three classes of 10, 20 and 3 photos, plus the clutter a real folder has."""
    for name, n in [("alice", 10), ("bob", 20), ("carol", 3)]:
        for i in range(n):
            _png(tmp_path / name / f"{i:02d}.jpg")
    (tmp_path / "alice" / "notes.txt").write_text("not a photo")
    _png(tmp_path / "alice" / ".hidden.jpg")
    (tmp_path / "bob" / ".DS_Store").write_bytes(b"\0\0")
    _png(tmp_path / "bob" / ".thumbs" / "0.jpg")
    (tmp_path / "empty_member").mkdir()
    (tmp_path / "README.txt").write_text("my photos")
    return tmp_path


def test_scan_classes_and_items(collection_dir: Path):
    collection = scan(collection_dir)
    assert collection.classes == ["alice", "bob", "carol"]
    assert dict(collection.counts()) == {"alice": 10, "bob": 20, "carol": 3}
    assert all(item.path.suffix == ".jpg" and not item.path.name.startswith(".") for item in collection.items)


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("alice/notes.txt", "not an image"),
        ("alice/.hidden.jpg", "hidden"),
        ("bob/.DS_Store", "hidden"),
        ("bob/.thumbs/0.jpg", "hidden"),
        ("empty_member", "no image"),
        ("README.txt", "outside"),
    ],
)
def test_skipped_files_are_reported_with_a_reason(collection_dir: Path, relative: str, reason: str):
    skipped = {path.relative_to(collection_dir).as_posix(): why for path, why in scan(collection_dir).skipped}
    assert relative in skipped, f"{relative} not reported as skipped: {sorted(skipped)}"
    assert reason in skipped[relative]


def test_empty_class_folder_is_not_a_class(collection_dir: Path):
    assert "empty_member" not in scan(collection_dir).classes


def test_class_names_are_nfc_normalised(tmp_path: Path):
    nfc, nfd = unicodedata.normalize("NFC", "Rosé"), unicodedata.normalize("NFD", "Rosé")
    assert nfc != nfd
    _png(tmp_path / nfc / "a.jpg")
    _png(tmp_path / nfd / "b.jpg")
    _png(tmp_path / "Lisa" / "c.jpg")
    if len({p.name for p in tmp_path.iterdir()}) < 3:
        pytest.skip("this file system normalises names itself")
    collection = scan(tmp_path)
    assert collection.classes == ["Lisa", nfc]
    assert collection.counts()[nfc] == 2


@pytest.mark.parametrize(("folder", "expected"), [("Rose\u0301", "Ros\u00e9"), (" Lisa ", "Lisa"), ("Jisoo", "Jisoo")])
def test_class_name(folder: str, expected: str):
    assert class_name(folder) == expected


def test_missing_folder_raises(tmp_path: Path):
    with pytest.raises(DatasetError, match="no such folder") as info:
        scan(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(info.value)


@pytest.mark.parametrize("layout", ["empty", "flat photos", "only empty classes", "only text files"])
def test_folder_without_classes_raises(tmp_path: Path, layout: str):
    if layout == "flat photos":
        _png(tmp_path / "a.jpg")
    elif layout == "only empty classes":
        (tmp_path / "alice").mkdir()
    elif layout == "only text files":
        (tmp_path / "alice").mkdir()
        (tmp_path / "alice" / "a.txt").write_text("x")
    with pytest.raises(DatasetError, match="no class folder with images"):
        scan(tmp_path)


@pytest.fixture(scope="module")
def kpop_collection(tmp_path_factory: pytest.TempPathFactory):
    """All of kpop15/train (class sizes 11 to 43), as symlinks."""
    require(KPOP15)
    classes = {p.name: images_of(p) for p in sorted(KPOP15.iterdir()) if p.is_dir()}
    return scan(link_tree(tmp_path_factory.mktemp("kpop-all"), classes))


@pytest.mark.parametrize(("val_fraction", "test_fraction", "seed"), [(0.15, 0.2, 0), (0.15, 0.2, 7), (0.3, 0.0, 1),
                                                                     (0.1, 0.3, 3)])
def test_stratified_split(kpop_collection, val_fraction: float, test_fraction: float, seed: int):
    split = stratified_split(kpop_collection, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    again = stratified_split(kpop_collection, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    assert split == again, "the same seed gave another split"
    train, val, test = set(split.train), set(split.val), set(split.test)
    assert not (train & val) and not (train & test) and not (val & test), "the parts overlap"
    every = {item.path.relative_to(kpop_collection.root).as_posix() for item in kpop_collection.items}
    assert train | val | test == every, "some photos are in no part"
    label = {item.path.relative_to(kpop_collection.root).as_posix(): item.label for item in kpop_collection.items}
    assert {label[p] for p in train} == set(kpop_collection.classes), "a class has no training photo"
    if test_fraction == 0:
        assert not test
    n = len(every)
    assert abs(len(val) / n - val_fraction) < 0.05, f"validation {len(val) / n:.2f}, asked {val_fraction}"
    assert abs(len(test) / n - test_fraction) < 0.05, f"test {len(test) / n:.2f}, asked {test_fraction}"
    for name, count in kpop_collection.counts().items():
        in_val = sum(label[p] == name for p in val)
        assert abs(in_val - count * val_fraction) <= 1.5, f"{name}: {in_val} of {count} in validation"


def test_split_seed_changes_the_split(kpop_collection):
    assert stratified_split(kpop_collection, seed=0) != stratified_split(kpop_collection, seed=1)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_tiny_classes_keep_a_training_photo(tmp_path: Path, n: int):
    for i in range(n):
        _png(tmp_path / "tiny" / f"{i}.jpg")
    for i in range(10):
        _png(tmp_path / "big" / f"{i}.jpg")
    collection = scan(tmp_path)
    split = stratified_split(collection, seed=0)
    tiny = [p for p in split.train if p.startswith("tiny/")]
    assert len(tiny) >= 1
    if n >= 3:
        assert any(p.startswith("tiny/") for p in split.val)
        assert any(p.startswith("tiny/") for p in split.test)


def test_split_paths_are_relative_posix(collection_dir: Path):
    split = stratified_split(scan(collection_dir), seed=0)
    assert all(not Path(p).is_absolute() and "\\" not in p for p in split.train + split.val + split.test)
    assert split.as_dict()["seed"] == 0


@pytest.fixture(scope="module")
def kpop_with_copies(tmp_path_factory: pytest.TempPathFactory):
    """All of kpop15/train with its 11 byte-identical pairs (`x(1).jpg`), and the first photo of each
    of three classes also filed under the next class."""
    require(KPOP15)
    classes = {p.name: sorted(f for f in p.iterdir() if f.is_file()) for p in sorted(KPOP15.iterdir()) if p.is_dir()}
    root = link_tree(tmp_path_factory.mktemp("kpop-copies"), classes)
    names = sorted(classes)
    for source, target in zip(names[:3], names[1:4]):
        (root / target / f"from-{source}.jpg").symlink_to(classes[source][0])
    return scan(root)


def test_identical_copies_never_straddle_two_parts(kpop_with_copies):
    """With content keys no test photo has a copy in training or validation; without, some do."""
    keys = content_keys(kpop_with_copies.items)
    copies: dict[str, list[str]] = {}
    for item in kpop_with_copies.items:
        copies.setdefault(keys[item.path], []).append(item.path.relative_to(kpop_with_copies.root).as_posix())
    groups = [group for group in copies.values() if len(group) > 1]
    assert len(groups) == 14, "11 pairs in kpop15 and 3 copies across classes"
    straddled_without_keys = 0
    for seed in range(4):
        for given in (keys, None):
            split = stratified_split(kpop_with_copies, seed=seed, keys=given)
            part = {p: k for k, paths in enumerate((split.train, split.val, split.test)) for p in paths}
            assert len(part) == len(kpop_with_copies.items), "a photo in no part, or in two"
            straddling = [group for group in groups if len({part[p] for p in group}) > 1]
            if given is None:
                straddled_without_keys += len(straddling)
            else:
                assert not straddling, f"seed {seed}: copies in two parts: {straddling}"
                assert {p.split("/")[0] for p in split.train} == set(kpop_with_copies.classes)
    assert straddled_without_keys > 0
