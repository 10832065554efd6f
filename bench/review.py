"""The review order: what answering the faces `Index.review_queue` puts first is worth, against answering faces
in a random order, when the answers are learned (`Index.learn`).

    .venv/bin/python bench/review.py --cache-dir /tmp/wt-strangers              # the shared data (below)
    .venv/bin/python bench/review.py --model M --members DIR --strangers DIR [--json]
    .venv/bin/python bench/review.py --quick --json                              # smoke run: a few photos each

MEMBERS holds the model's members' photos (a folder per member, named as the model names them), STRANGERS
photos of other people (a folder per person). They are indexed together (`whosthat.index`, a temporary
collection of links `members/<person>/` and `strangers/<person>/`), and the index is copied for each reviewer.
A reviewer answers faces with the truth: a face of a stranger's photo is a `stranger`; in a member's photo the
member's face (the face the model names as the member when every face gets its most probable name, each member
to at most one face, else the largest: as bench/strangers.py decides it) is `confirm`ed, or `move`d to the
member when the index names it otherwise, and its other faces are strangers. After 0, 10, 25, 50 and 100
answers (`--answers`, counted from the start) the reviewer's index learns them (`Index.learn`), and the index's
names, corrections applied, give:

- members named right: member photos where the photo's member is among the names given;
- strangers named: stranger photos where any face gets a member's name;
- names corrected: answers that said another name than the index gave (a move, or a stranger named a member).

"review order" asks `review_queue` for the next faces after each learning; "random order" answers the faces in
a random order fixed at the start, played `--random-runs` times (seeds 0, 1, ...; the mean is reported). Photos
without a face count in neither share.

With no data arguments it runs on the shared data (../shared/datasets), as bench/strangers.py sets it up: the
model is trained on blackpink/photos' training split (`whosthat train`'s split, seed 0, 20 % test; all of it
learned: `test_fraction=0`), MEMBERS are its test photos and STRANGERS kpop15's idols Naeun, Nayeon, Sana,
Seulgi, Umji, Yeji and Yuju. `--quick` takes a few photos of each (bench/strangers.py's `--quick`). `--shared
kpop15` takes the model's training photos, MEMBERS and STRANGERS from kpop15's face crops alone, as
bench/strangers.py's `--shared kpop15 --seed N` does (there the strangers' photos cannot be told from the
members' by their kind).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Optional

import numpy as np

from accuracy import DATASETS, markdown, percent
from strangers import CLOSED_SET, extract, finish, kpop15_folders, shared_folders, show
from whosthat.collection import Index, index
from whosthat.collection.corrections import apply, read, resolve
from whosthat.models.loading import load
from whosthat.models.model import Model
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.training import TrainConfig, train
from whosthat.training.folder import scan

ANSWERS = (0, 10, 25, 50, 100)
REVIEWERS = ("review order", "random order")
STRANGER = ""


def truth(model: Model, members: Path, strangers: Path, cache_dir: Path) -> dict[tuple[str, int], str]:
    """What each face of the collection is: {(path in the collection, face number): member's name, or STRANGER}
    (see the module); faces are numbered largest first, as the index numbers them."""
    answers: dict[tuple[str, int], str] = {}
    for part, folder in (("members", members), ("strangers", strangers)):
        items = scan(folder).items
        for item, subjects in zip(items, extract(model, items, cache_dir)):
            if subjects.error is not None or not len(subjects.faces):
                continue
            path = f"{part}/{item.path.parent.name}/{item.path.name}"
            member = -1
            if part == "members":
                names = model.name_subjects(subjects, threshold=CLOSED_SET).labels
                member = names.index(item.label) if item.label in names else 0
            for face in range(len(subjects.faces)):
                answers[(path, face)] = item.label if face == member else STRANGER
    return answers


def rates(opened: Index) -> dict:
    """Members named right and strangers named among the index's photos, by its names with corrections applied."""
    faces = apply(opened.store.scan(["path", "content_hash", "face", "label"]), resolve(read(opened.store)))
    photos: dict[str, set] = {}
    for path, label in zip(faces["path"].to_pylist(), faces["label"].to_pylist()):
        photos.setdefault(path, set()).add(label)
    right = [path.split("/")[1] in named for path, named in photos.items() if path.startswith("members/")]
    named = [bool(named - {UNKNOWN_LABEL}) for path, named in photos.items() if path.startswith("strangers/")]
    return {"members_named_right": float(np.mean(right)) if right else None,
            "strangers_named": float(np.mean(named)) if named else None,
            "member_photos": len(right), "stranger_photos": len(named)}


def answer(opened: Index, path: str, face: int, now: str, truth_of: dict[tuple[str, int], str]) -> tuple[str, bool]:
    """Answer one face with the truth, as a reviewer would; returns what was said, and whether it corrected the
    name the index gave."""
    right = truth_of.get((path, face), STRANGER)
    if right == STRANGER:
        opened.stranger(path, face)
        return "stranger", now != UNKNOWN_LABEL
    if now != right:
        opened.move(path, face, right)
        return "move", True
    opened.confirm(path, face, right)
    return "confirm", False


def in_review_order(opened: Index, count: int) -> Iterator[tuple[str, int, str]]:
    """The next `count` faces `review_queue` puts first."""
    for item in opened.review_queue(limit=count):
        yield item.path, item.face, item.name


def mean_rows(runs: Sequence[list[dict]]) -> list[dict]:
    """The rows of several runs of one reviewer, each figure their mean."""
    figures = ("members_named_right", "strangers_named", "names_corrected", "seconds")
    return [{**rows[0], **{k: float(np.mean([r[k] for r in rows])) for k in figures},
             "said": {k: float(np.mean([r["said"][k] for r in rows])) for k in rows[0]["said"]}}
            for rows in zip(*runs)]


def play(opened: Index, reviewer: str, checkpoints: Sequence[int], truth_of: dict[tuple[str, int], str],
         scratch: Path, seed: int) -> list[dict]:
    """One reviewer's answers on its own copy of the index, learned and scored at each checkpoint."""
    faces = opened.store.scan(["path", "face", "label"])
    keys = list(zip(faces["path"].to_pylist(), faces["face"].to_pylist()))
    shuffled = [keys[i] for i in np.random.default_rng(seed).permutation(len(keys))]
    given, corrected, said, rows = 0, 0, {"confirm": 0, "move": 0, "stranger": 0}, []
    for step, target in enumerate(checkpoints):
        started = time.perf_counter()
        if target > given:
            if reviewer == REVIEWERS[0]:
                batch = list(in_review_order(opened, target - given))
            else:
                current = apply(opened.store.scan(["path", "content_hash", "face", "label"]),
                                resolve(read(opened.store)))
                label = dict(zip(zip(current["path"].to_pylist(), current["face"].to_pylist()),
                                 current["label"].to_pylist()))
                batch = [(p, f, label[(p, f)]) for p, f in shuffled[given:target]]
            for path, face, now in batch:
                kind, changed = answer(opened, path, face, now, truth_of)
                said[kind] += 1
                corrected += changed
            given += len(batch)
            opened.learn(scratch / f"learned-{step}.wt")
        rows.append({"answers": given, **rates(opened), "said": dict(said), "names_corrected": corrected,
                     "seconds": round(time.perf_counter() - started, 1)})
    return rows


def run(args: argparse.Namespace, scratch: Path, cache_dir: Path) -> dict:
    members, strangers, model_file = args.members, args.strangers, args.model
    if model_file is None:
        folders = kpop15_folders(args.datasets, scratch / "data", args.seed) if args.shared == "kpop15" else \
            shared_folders(args.datasets, scratch / "data", args.quick)
        members, strangers = folders.members, folders.strangers
        model_file = train(folders.train, TrainConfig(test_fraction=0.0, cache_dir=cache_dir)).save(
            scratch / "model.wt")
    model = load(model_file)
    if not isinstance(model, Model):
        sys.exit(f"{model_file}: a model of several models cannot learn; give one model")
    collection = scratch / "collection"
    collection.mkdir()
    (collection / "members").symlink_to(Path(members).resolve(), target_is_directory=True)
    (collection / "strangers").symlink_to(Path(strangers).resolve(), target_is_directory=True)
    built = index(model_file, collection, index=scratch / "index", cache_dir=cache_dir)
    truth_of = truth(model, Path(members), Path(strangers), cache_dir)
    result: dict = {"data": {"model": str(model_file), "members": str(members), "strangers": str(strangers),
                             "faces": built.summary().faces, "member_people": scan(Path(members)).classes,
                             "stranger_people": scan(Path(strangers)).classes},
                    "reviewers": {}, "random_order_by_seed": []}
    for n, (reviewer, seed) in enumerate([(REVIEWERS[0], 0)] + [(REVIEWERS[1], s) for s in range(args.random_runs)]):
        copy = Path(shutil.copytree(built.directory, scratch / f"index-{n}"))
        (scratch / f"models-{n}").mkdir()
        rows = play(Index(copy), reviewer, args.answers, truth_of, scratch / f"models-{n}", seed)
        if reviewer == REVIEWERS[0]:
            result["reviewers"][reviewer] = rows
        else:
            result["random_order_by_seed"].append(rows)
    result["reviewers"][REVIEWERS[1]] = mean_rows(result["random_order_by_seed"])
    return result


def tables(result: dict) -> str:
    review, random = (result["reviewers"][r] for r in REVIEWERS)
    runs = len(result["random_order_by_seed"])
    rows = [[a["answers"], percent(a["members_named_right"]), percent(b["members_named_right"]),
             percent(a["strangers_named"]), percent(b["strangers_named"]), a["names_corrected"],
             f"{b['names_corrected']:.1f}", f"{a['said']['confirm']} / {a['said']['move']} / {a['said']['stranger']}"]
            for a, b in zip(review, random)]
    return markdown(["answers", "members named right: review order", f"random order (mean of {runs})",
                     "strangers named: review order", "random order", "names corrected: review order",
                     "random order", "review order's answers: confirm / move / stranger"], rows)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Default data and definitions: see the module's docstring.")
    parser.add_argument("--model", type=Path, help="the group's model file (default: trained on the shared data)")
    parser.add_argument("--members", type=Path, metavar="DIR", help="the members' photos, a folder per member")
    parser.add_argument("--strangers", type=Path, metavar="DIR", help="other people's photos, a folder per person")
    parser.add_argument("--answers", type=int, nargs="+", default=list(ANSWERS),
                        help="learn after so many answers, counted from the start (default: 0 10 25 50 100)")
    parser.add_argument("--random-runs", type=int, default=3,
                        help="random orders played (seeds 0, 1, ...), their mean reported (default 3)")
    parser.add_argument("--shared", choices=("blackpink", "kpop15"), default="blackpink",
                        help="which shared data without data arguments (bench/strangers.py's; default blackpink)")
    parser.add_argument("--seed", type=int, default=0, help="--shared kpop15: how its idols are shuffled (default 0)")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"the shared data (default: {DATASETS})")
    parser.add_argument("--cache-dir", type=Path, help="keep the embedding cache here (default: a temporary dir)")
    parser.add_argument("--quick", action="store_true", help="a few photos of each folder of the shared data")
    parser.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    args = parser.parse_args(argv)
    given = [args.model, args.members, args.strangers]
    if any(given) and not all(given):
        parser.error("give all of --model, --members and --strangers, or none (the shared data)")
    if sorted(args.answers) != args.answers or args.answers[0] < 0:
        parser.error("--answers: counts from the start, in increasing order")
    if args.random_runs < 1:
        parser.error("--random-runs: at least 1")
    started, load_at_start = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="whosthat-review-") as temporary:
        scratch = Path(temporary)
        result = run(args, scratch, args.cache_dir or scratch / "cache")
    result["settings"] = {"answers": args.answers, "random_runs": args.random_runs, "quick": args.quick,
                          "shared": None if all(given) else args.shared, "seed": args.seed}
    finish(result, started, load_at_start)
    show(result, tables, as_json=args.json)


if __name__ == "__main__":
    main()
