"""`train FOLDER --others DIR`: photos of people who are not members, learned as strangers (real photos).

A small Blackpink model learns with a few kpop15 idols as the others; held-out photos of other kpop15 idols
(never among the others) play the strangers, held-out Blackpink photos the members.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import whosthat
from conftest import BLACKPINK, BLACKPINK_MEMBERS, BLACKPINK_TRAIN_PER_CLASS, KPOP15, images_of, link_tree, require
from whosthat.cli import main
from whosthat.core.errors import DatasetError
from whosthat.models.model import Component, Model, build_extractor
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.training import TrainingLog, run
from whosthat.training.folder import Item
from whosthat.vision.cache import EmbeddingCache

#: The others the model learns from (kpop15 idols who are not in Blackpink: Lisa is a member).
OTHERS = ["Irene", "Jihyo", "Nayeon", "Seulgi"]
#: The strangers it is tested on: kpop15 idols never among the others.
STRANGERS = ["Arin", "Dahyun", "Umji", "Yeji", "Yuju"]
PHOTOS_PER_OTHER, PHOTOS_PER_STRANGER, HELD_OUT_PER_MEMBER = 8, 6, 10


@pytest.fixture(scope="module")
def others_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require(KPOP15)
    return link_tree(tmp_path_factory.mktemp("others"),
                     {name: images_of(KPOP15 / name)[:PHOTOS_PER_OTHER] for name in OTHERS})


@pytest.fixture(scope="module")
def with_others(blackpink_train_dir: Path, others_dir: Path, session_cache: Path) -> Model:
    """The shared Blackpink model's settings, plus the others."""
    return whosthat.train(blackpink_train_dir, embedder="facenet", test_fraction=0.0, cache_dir=session_cache,
                          others=others_dir)


def largest_faces(model: Model, paths: list[Path], cache: Path) -> tuple[np.ndarray, list[int]]:
    """The embedding of the largest face of each photo that has one, and which photos those are."""
    vectors, kept = [], []
    for k, found in enumerate(model.extract_paths(paths, cache=EmbeddingCache(cache))):
        if found.faces:
            vectors.append(found.embeddings[int(np.argmax([f.area for f in found.faces]))])
            kept.append(k)
    return np.stack(vectors), kept


def test_the_others_are_learned_and_kept_in_the_model_file(with_others: Model, blackpink_model: Model,
                                                            others_dir: Path, tmp_path: Path) -> None:
    record = with_others.training.others
    assert record is not None and record.people == tuple(OTHERS) and record.folder == str(others_dir)
    assert record.photos == len(OTHERS) * PHOTOS_PER_OTHER and 0 < record.faces <= record.photos
    calibration = with_others.calibration
    assert calibration.curve.n_negatives == record.faces and calibration.negatives_accepted is not None
    assert with_others.classes == blackpink_model.classes
    assert blackpink_model.training.others is None and blackpink_model.calibration.negatives_accepted is None
    again = whosthat.load(with_others.save(tmp_path / "others.wt"))
    assert again.training.others == record
    assert again.calibration.negatives_accepted == calibration.negatives_accepted


def test_other_strangers_are_named_no_more_and_members_no_less(with_others: Model, blackpink_model: Model,
                                                               session_cache: Path) -> None:
    """On strangers who are not among the others, and on members' photos neither model saw."""
    require(BLACKPINK)
    members = [(p, name) for name in BLACKPINK_MEMBERS for p in
               images_of(BLACKPINK / name)[BLACKPINK_TRAIN_PER_CLASS:BLACKPINK_TRAIN_PER_CLASS + HELD_OUT_PER_MEMBER]]
    strangers = [p for name in STRANGERS for p in images_of(KPOP15 / name)[:PHOTOS_PER_STRANGER]]
    member_vectors, kept = largest_faces(blackpink_model, [p for p, _ in members], session_cache)
    truth = np.array([members[k][1] for k in kept], dtype=object)
    stranger_vectors, _ = largest_faces(blackpink_model, strangers, session_cache)
    rates = {}
    for name, model in (("without others", blackpink_model), ("with others", with_others)):
        right = float(np.mean(model.recogniser.predict(member_vectors) == truth))
        named = float(np.mean(model.recogniser.predict(stranger_vectors) != UNKNOWN_LABEL))
        rates[name] = right, named
    message = "; ".join(f"{name}: members named right {r:.1%}, strangers named {s:.1%}"
                        for name, (r, s) in rates.items())
    (right_before, named_before), (right_after, named_after) = rates["without others"], rates["with others"]
    assert named_after <= named_before, message
    assert right_after >= right_before - 0.01, message


def test_the_cli_says_what_it_learned_from_the_others(blackpink_train_dir: Path, others_dir: Path,
                                                      session_cache: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.wt"
    assert main(["train", str(blackpink_train_dir), "--others", str(others_dir), "--embedder", "facenet",
                 "--test-fraction", "0", "--cache-dir", str(session_cache), "--out", str(out), "--no-report"]) == 0
    text = capsys.readouterr().out
    assert f"others: {len(OTHERS)} people, {len(OTHERS) * PHOTOS_PER_OTHER} photos" in text, text
    assert "faces of the others" in text, text
    assert whosthat.load(out).training.others.people == tuple(OTHERS)


def refusal(training: Path, others: Path) -> str:
    """The one-line error scanning `others` beside the training folder gives."""
    photos = run.scan_photos(training, None, TrainingLog())
    with pytest.raises(DatasetError) as error:
        run.scan_others(others, photos, TrainingLog())
    assert "\n" not in str(error.value)
    return str(error.value)


def test_a_missing_or_empty_others_folder_is_refused(blackpink_train_dir: Path, tmp_path: Path) -> None:
    assert "no such folder" in refusal(blackpink_train_dir, tmp_path / "nowhere")
    (tmp_path / "empty" / "nobody").mkdir(parents=True)
    assert "no class folder with images" in refusal(blackpink_train_dir, tmp_path / "empty")


def test_the_training_folder_is_not_the_others(blackpink_train_dir: Path) -> None:
    assert " is the training folder" in refusal(blackpink_train_dir, blackpink_train_dir)
    assert "is inside the training folder" in refusal(blackpink_train_dir, blackpink_train_dir / BLACKPINK_MEMBERS[0])
    assert "holds the training folder" in refusal(blackpink_train_dir, blackpink_train_dir.parent)


def test_a_person_of_the_others_named_like_a_member_is_refused(blackpink_train_dir: Path, tmp_path: Path) -> None:
    require(KPOP15)
    others = link_tree(tmp_path / "others", {"Irene": images_of(KPOP15 / "Irene")[:1],
                                             "JENNIE_KIM": images_of(KPOP15 / "Jihyo")[:1]})
    assert "JENNIE_KIM is a member's name" in refusal(blackpink_train_dir, others)


def test_copies_of_members_photos_are_left_out_with_a_note(blackpink_train_dir: Path, tmp_path: Path) -> None:
    require(KPOP15)
    member_photo = sorted((blackpink_train_dir / BLACKPINK_MEMBERS[1]).iterdir())[0].resolve()
    others = link_tree(tmp_path / "others", {"Irene": images_of(KPOP15 / "Irene")[:2]})
    (others / "Irene" / "renamed.jpg").symlink_to(member_photo)
    photos, log = run.scan_photos(blackpink_train_dir, None, TrainingLog()), TrainingLog()
    scanned = run.scan_others(others, photos, log)
    assert [i.path.name for i in scanned.collection.items] == [p.name for p in images_of(KPOP15 / "Irene")[:2]]
    assert [(n.path, n.kind) for n in log.notes] == [(str(others / "Irene" / "renamed.jpg"), "others")]
    assert f"{BLACKPINK_MEMBERS[1]}/{member_photo.name}" in log.notes[0].message
    only_copies = link_tree(tmp_path / "copies", {"Someone": [member_photo]})
    assert "every photo in it is a copy of a member's photo" in refusal(blackpink_train_dir, only_copies)


def test_a_member_s_photo_saved_again_is_left_out_with_a_note(blackpink_train_dir: Path, session_cache: Path,
                                                              tmp_path: Path) -> None:
    """Not the same file, the same face: a member's photo resized and saved again among the others."""
    require(KPOP15)
    member_photo = sorted((blackpink_train_dir / BLACKPINK_MEMBERS[2]).iterdir())[0]
    others = link_tree(tmp_path / "others", {"Irene": images_of(KPOP15 / "Irene")[:2]})
    image = Image.open(member_photo).convert("RGB")
    image.resize((image.width * 9 // 10, image.height * 9 // 10)).save(others / "Irene" / "saved.jpg", quality=85)
    photos, log = run.scan_photos(blackpink_train_dir, None, TrainingLog()), TrainingLog()
    scanned = run.scan_others(others, photos, log)
    extractor = build_extractor(Component("yunet"), Component("facenet", {}), {})
    cache = EmbeddingCache(session_cache)
    items = [Item(member_photo, BLACKPINK_MEMBERS[2])]
    found = next(iter(extractor.extract_paths([member_photo], cache=cache)))
    face = found.embeddings[int(np.argmax([f.area for f in found.faces]))][None]
    vectors, record = run.embed_others(scanned, extractor, cache, None, log, (items, face))
    assert record.photos == 3 and record.faces == len(vectors) == 2
    assert [(n.path, n.kind) for n in log.notes] == [(str(others / "Irene" / "saved.jpg"), "others")]
    assert f"the same face as {BLACKPINK_MEMBERS[2]}/{member_photo.name}" in log.notes[0].message
