"""Strangers and grouping: how many strangers a group's model names, at what cost to the members, and how well
`people` groups the strangers' faces, on any data laid out as a folder of folders per person.

    .venv/bin/python bench/strangers.py --cache-dir /tmp/wt-strangers          # the shared data (below)
    .venv/bin/python bench/strangers.py --shared kpop15 --seed 1 --cache-dir /tmp/wt-strangers  # kpop15 alone
    .venv/bin/python bench/strangers.py --train T --members M --others O --strangers S [--json]
    .venv/bin/python bench/strangers.py --quick --json                          # smoke run: a few photos each

TRAIN holds the group's members' training photos, MEMBERS their test photos (the same people, other photos),
OTHERS photos of people outside the group given to training as known non-members, STRANGERS photos of yet
other people; OTHERS and STRANGERS must not share a person folder (checked by name), and MEMBERS' people must
be TRAIN's. Two models are trained with `whosthat.train` on all of TRAIN's photos (`test_fraction=0`, the
validation photos kept for the calibration): one without OTHERS, one with them (`TrainConfig(others=...)`; on a
whosthat without that setting that model is reported as "n/a"). Each names MEMBERS and STRANGERS:

- members named right: member photos where the photo's member is among the names given (group shots hold
  other people); "largest face right": where the largest face gets the member's name;
- members rejected: member photos whose member's face is called unknown. The member's face is the face the
  model names as the member when no face is unknown (every face given its most probable name, each member
  to at most one face), else the largest face;
- strangers named: stranger photos where any face gets a member's name;
- photos where no face is found, or that cannot be read, are counted apart and left out of these shares.

The trade-off table gives the same figures at the model's calibrated threshold and at thresholds chosen on
the MEMBERS photos themselves so that 1, 2, 3, 5 and 10 % of the members' faces score below them (the
member's face's stranger score for its most probable member, `Model.evidence`): an oracle no user has, which
shows what the score allows whatever the calibration picks.

Grouping: MEMBERS and STRANGERS are indexed together (`whosthat.index`, a temporary collection of links
`members/<person>/` and `strangers/<person>/`) with the model trained without OTHERS, and `Index.people`
groups the faces named as nobody (default distance and min_faces). The faces scored are the unknown faces of
photos with exactly one face found (a photo's person folder is then that face's person; faces of byte-identical
photos count once, as `people` counts them); BCubed precision, recall and F (Amigó et al. 2009) compare the
groups with the person folders, each face left ungrouped counting as a group of its own. Also given: the
groups, the largest group's size, and the share of its scored faces that are its most common person.

The collection's own structure: `index` checks each face's name against the rest of the collection
(`whosthat.collection.consensus`: label spreading over a k-nearest-neighbour graph of the model's training faces
and the index's faces). Members named right and strangers named are given face by face (the model's figures
above) and as the index holds them after the check, with the number of faces the check called unknown.

With no data arguments it runs on the shared datasets (../shared/datasets): TRAIN and MEMBERS are
blackpink/photos split as `whosthat train` splits it (seed 0, 20 % test: the test photos are MEMBERS, the
rest TRAIN); kpop15/train's idols other than Lisa (a Blackpink member, never used) are split in alphabetical
halves: OTHERS = Arin, Chaeyong, Chorong, Dahyun, Eunha, Irene, Jihyo; STRANGERS = Naeun, Nayeon, Sana,
Seulgi, Umji, Yeji, Yuju. `--quick` keeps 12 training and 4 test photos per member and 6 photos of 3 idols of
each half. There the members' photos are full photos and the others' and strangers' face crops; `--shared
kpop15` takes every role from kpop15's crops instead, so that no cue of the photos' kind can tell them apart:
its 14 idols other than Lisa, shuffled by `--seed` (0: in alphabetical order), give 5 members, whose photos are
split in halves (`whosthat train`'s split, 50 % test) into TRAIN and MEMBERS, 5 others and 4 strangers.
`--json` prints every figure as one JSON object instead of the tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Optional

import numpy as np

from accuracy import DATASETS, markdown, percent, train_split
from whosthat.models.model import Model
from whosthat.recognition.prediction import UNKNOWN_LABEL
from whosthat.training import TrainConfig, train
from whosthat.training.folder import Item, TrainingFolder, scan
from whosthat.vision.cache import EmbeddingCache
from whosthat.vision.extract import Subjects

EXCLUDED_IDOL = "Lisa"  # kpop15's Blackpink member: one of the group, so neither an other nor a stranger
OTHER_IDOLS = ("Arin", "Chaeyong", "Chorong", "Dahyun", "Eunha", "Irene", "Jihyo")
STRANGER_IDOLS = ("Naeun", "Nayeon", "Sana", "Seulgi", "Umji", "Yeji", "Yuju")
REJECTION_TARGETS = (0.01, 0.02, 0.03, 0.05, 0.10)
#: A threshold under every stranger score: every face gets its most probable name (thresholds must be finite).
CLOSED_SET = -1e9
NO_OTHERS = "n/a (this whosthat has no --others)"


# ------------------------------------------------------------------------------------------ metrics

def bcubed(truth: Sequence[Hashable], clusters: Sequence[Hashable]) -> tuple[float, float, float]:
    """BCubed precision, recall and F1 (Amigó et al. 2009) of a clustering against the true classes, one entry per
    item: precision is the mean over items of the share of its cluster that is of its class, recall the mean
    share of its class that is in its cluster. NaN for no items."""
    if len(truth) != len(clusters):
        raise ValueError("one cluster per item")
    if not len(truth):
        return math.nan, math.nan, math.nan
    both = Counter(zip(clusters, truth))
    cluster_size, class_size = Counter(clusters), Counter(truth)
    precision = sum(n * n / cluster_size[c] for (c, _), n in both.items()) / len(truth)
    recall = sum(n * n / class_size[g] for (_, g), n in both.items()) / len(truth)
    return precision, recall, 2 * precision * recall / (precision + recall)


# --------------------------------------------------------------------------------------------- data

@dataclasses.dataclass(frozen=True)
class Folders:
    train: Path
    members: Path
    others: Path
    strangers: Path


def _link(items: Sequence[Item], root: Path) -> None:
    """`root/<class folder>/<file name>` links to the items' photos."""
    for item in items:
        target = root / item.path.parent.name / item.path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(item.path.resolve())


def _few(items: Sequence[Item], per_class: Optional[int]) -> list[Item]:
    if per_class is None:
        return list(items)
    seen: Counter = Counter()
    kept = []
    for item in items:
        seen[item.label] += 1
        if seen[item.label] <= per_class:
            kept.append(item)
    return kept


def shared_folders(datasets: Path, into: Path, quick: bool) -> Folders:
    """The default data (see the module) as four folders of links under `into`."""
    blackpink = scan(datasets / "blackpink/photos")
    split = train_split(blackpink)
    by_path = {i.path.relative_to(blackpink.root).as_posix(): i for i in blackpink.items}
    folders = Folders(into / "train", into / "members", into / "others", into / "strangers")
    _link(_few([by_path[p] for p in split.train + split.val], 12 if quick else None), folders.train)
    _link(_few([by_path[p] for p in split.test], 4 if quick else None), folders.members)
    kpop = scan(datasets / "kpop15/train")
    for idols, folder in ((OTHER_IDOLS, folders.others), (STRANGER_IDOLS, folders.strangers)):
        chosen = idols[:3] if quick else idols
        _link(_few([i for i in kpop.items if i.path.parent.name in chosen], 6 if quick else None), folder)
    return folders


def kpop15_folders(datasets: Path, into: Path, seed: int) -> Folders:
    """`--shared kpop15` (see the module) as four folders of links under `into`."""
    kpop = scan(datasets / "kpop15/train")
    idols = [c for c in kpop.classes if c != EXCLUDED_IDOL]
    if seed:
        idols = [idols[i] for i in np.random.default_rng(seed).permutation(len(idols))]
    members, others, strangers = idols[:5], idols[5:10], idols[10:]
    chosen = TrainingFolder(kpop.root, sorted(members), [i for i in kpop.items if i.label in members], [])
    split = train_split(chosen, test_fraction=0.5)
    by_path = {i.path.relative_to(kpop.root).as_posix(): i for i in chosen.items}
    folders = Folders(into / "train", into / "members", into / "others", into / "strangers")
    _link([by_path[p] for p in split.train + split.val], folders.train)
    _link([by_path[p] for p in split.test], folders.members)
    _link([i for i in kpop.items if i.label in others], folders.others)
    _link([i for i in kpop.items if i.label in strangers], folders.strangers)
    return folders


def check_folders(folders: Folders) -> tuple[TrainingFolder, TrainingFolder, TrainingFolder, TrainingFolder]:
    scanned = tuple(scan(f) for f in (folders.train, folders.members, folders.others, folders.strangers))
    train_set, members, others, strangers = scanned
    shared = sorted(set(others.classes) & set(strangers.classes))
    if shared:
        sys.exit(f"--others and --strangers must hold different people; both hold {', '.join(shared)}")
    unknown = sorted(set(members.classes) - set(train_set.classes))
    if unknown:
        sys.exit(f"--members holds people --train does not: {', '.join(unknown)}")
    return scanned


# ------------------------------------------------------------------------------------------ scoring

def extract(model: Model, items: Sequence[Item], cache_dir: Path) -> list[Subjects]:
    cache = EmbeddingCache(cache_dir)
    try:
        return list(model.extract_paths([i.path for i in items], cache=cache))
    finally:
        cache.close()


def _faced(items: Sequence[Item], found: Sequence[Subjects]) -> tuple[list[tuple[Item, Subjects]], int]:
    """The photos with at least one face, and how many had none or could not be read."""
    kept = [(i, s) for i, s in zip(items, found) if s.error is None and len(s.faces)]
    return kept, len(items) - len(kept)


def _share(flags: Sequence[bool]) -> float:
    return float(np.mean(flags)) if len(flags) else math.nan


def score_model(model: Model, members: Sequence[Item], strangers: Sequence[Item], cache_dir: Path) -> dict:
    """Every figure of one model (see the module): the calibrated ones and the trade-off rows."""
    member_photos, members_faceless = _faced(members, extract(model, members, cache_dir))
    stranger_photos, strangers_faceless = _faced(strangers, extract(model, strangers, cache_dir))
    member_face, scores = [], []
    for item, subjects in member_photos:
        names = model.name_subjects(subjects, threshold=CLOSED_SET).labels  # largest face first
        face = names.index(item.label) if item.label in names else 0
        order = np.argsort([-f.area for f in subjects.faces], kind="stable")
        evidence = model.evidence(subjects.embeddings[order[face]][None, :])
        member_face.append(face)
        scores.append(float(evidence.stranger[0, evidence.probabilities[0].argmax()]))
    thresholds = [("calibrated", None, model.threshold)]
    if scores:
        thresholds += [(f"{t:.0%} members rejected, chosen on MEMBERS", t, float(np.quantile(scores, t)))
                       for t in REJECTION_TARGETS]
    rows = []
    for name, target, threshold in thresholds:
        right, largest, rejected = [], [], []
        for (item, subjects), face in zip(member_photos, member_face):
            labels = model.name_subjects(subjects, threshold=threshold).labels
            right.append(item.label in labels)
            largest.append(labels[0] == item.label)
            rejected.append(labels[face] == UNKNOWN_LABEL)
        named = [any(label != UNKNOWN_LABEL for label in model.name_subjects(s, threshold=threshold).labels)
                 for _, s in stranger_photos]
        rows.append({"threshold_from": name, "target_members_rejected": target, "threshold": threshold,
                     "members_named_right": _share(right), "members_largest_face_right": _share(largest),
                     "members_rejected": _share(rejected), "strangers_named": _share(named)})
    return {"available": True, "classes": list(model.classes), "threshold": model.threshold,
            "member_photos": len(member_photos), "member_photos_without_face": members_faceless,
            "stranger_photos": len(stranger_photos), "stranger_photos_without_face": strangers_faceless,
            **{k: rows[0][k] for k in ("members_named_right", "members_largest_face_right", "members_rejected",
                                       "strangers_named")},
            "tradeoff": rows}


def collection_rates(opened: object) -> dict:
    """Members named right and strangers named among the photos of the index, by the names it holds."""
    faces = opened.store.scan(["path", "label"])  # type: ignore[attr-defined]
    photos: dict[str, set] = {}
    for path, label in zip(faces["path"].to_pylist(), faces["label"].to_pylist()):
        photos.setdefault(path, set()).add(label)
    right = [path.split("/")[1] in named for path, named in photos.items() if path.startswith("members/")]
    named = [bool(named - {UNKNOWN_LABEL}) for path, named in photos.items() if path.startswith("strangers/")]
    return {"members_named_right": _share(right), "strangers_named": _share(named), "member_photos": len(right),
            "stranger_photos": len(named), "faces_doubted": opened.last_run.doubted}  # type: ignore[attr-defined]


def grouping(model: Model, members: Path, strangers: Path, scratch: Path, cache_dir: Path) -> dict:
    """MEMBERS and STRANGERS indexed together and grouped by `people`; BCubed over the scored faces (the module)."""
    import whosthat

    collection = scratch / "collection"
    collection.mkdir()
    (collection / "members").symlink_to(members.resolve(), target_is_directory=True)
    (collection / "strangers").symlink_to(strangers.resolve(), target_is_directory=True)
    opened = whosthat.index(model, collection, index=scratch / "index", cache_dir=cache_dir)
    checked = collection_rates(opened)
    report = opened.people(restart=True)
    person = {(f.content_hash, f.face): p.number for p in report.people for f in p.faces}
    faces = opened.store.scan(["path", "content_hash", "face", "label", "faces"])
    truth, clusters, seen = [], [], set()
    for path, content, face, label, count in zip(*(faces[c].to_pylist() for c in faces.column_names)):
        key = (content, face)
        if label != UNKNOWN_LABEL or count != 1 or key in seen:
            continue
        seen.add(key)
        truth.append("/".join(path.split("/")[:2]))  # members/<person> or strangers/<person>
        clusters.append(person.get(key, ("alone", key)))
    precision, recall, f = bcubed(truth, clusters)
    largest = report.people[0] if report.people else None
    faces_of_largest = [t for t, c in zip(truth, clusters) if largest is not None and c == largest.number]
    top = Counter(faces_of_largest).most_common(1)
    return {"unknown_faces": report.unknown_faces, "scored_faces": len(truth),
            "scored_stranger_faces": sum(t.startswith("strangers/") for t in truth),
            "scored_member_faces": sum(t.startswith("members/") for t in truth),
            "people_scored": len(set(truth)), "distance": report.distance, "min_faces": report.min_faces,
            "groups": len(report.people), "faces_grouped": sum(len(p.faces) for p in report.people),
            "largest_group": len(largest.faces) if largest else 0,
            "largest_group_person": top[0][0] if top else None,
            "largest_group_purity": top[0][1] / len(faces_of_largest) if top else math.nan,
            "largest_group_one_person": bool(top) and top[0][1] == len(faces_of_largest),
            "bcubed_precision": precision, "bcubed_recall": recall, "bcubed_f": f, "collection_check": checked}


# --------------------------------------------------------------------------------------------- main

def has_others() -> bool:
    return "others" in {f.name for f in dataclasses.fields(TrainConfig)}


def run(args: argparse.Namespace, folders: Folders, scratch: Path, cache_dir: Path) -> dict:
    train_set, members, others, strangers = check_folders(folders)
    config = TrainConfig(test_fraction=0.0, cache_dir=cache_dir,
                         **({"embedder": args.embedder} if args.embedder else {}))
    models: dict[str, Optional[Model]] = {"without others": train(folders.train, config)}
    models["with others"] = train(folders.train, config.with_settings(others=folders.others)) if has_others() else None
    scored = {name: score_model(model, members.items, strangers.items, cache_dir) if model is not None
              else {"available": False, "note": NO_OTHERS} for name, model in models.items()}
    grouped = grouping(models["without others"], folders.members, folders.strangers, scratch, cache_dir)
    return {"data": {"train": str(folders.train), "members": str(folders.members), "others": str(folders.others),
                     "strangers": str(folders.strangers), "train_photos": len(train_set.items),
                     "member_people": members.classes, "other_people": others.classes,
                     "stranger_people": strangers.classes, "member_photos": len(members.items),
                     "other_photos": len(others.items), "stranger_photos": len(strangers.items)},
            "models": scored, "grouping": grouped}


def tables(result: dict) -> str:
    lines = []
    summary = []
    for name, m in result["models"].items():
        if not m["available"]:
            summary.append([name, m["note"]] + [None] * 6)
            continue
        summary.append([name, f"{m['threshold']:.3f}", f"{m['member_photos']} ({m['member_photos_without_face']})",
                        f"{m['stranger_photos']} ({m['stranger_photos_without_face']})",
                        percent(m["members_named_right"]), percent(m["members_largest_face_right"]),
                        percent(m["members_rejected"]), percent(m["strangers_named"])])
    lines += [markdown(["model", "threshold", "member photos (no face)", "stranger photos (no face)",
                        "members named right", "largest face right", "members rejected", "strangers named"],
                       summary), ""]
    for name, m in result["models"].items():
        if m["available"]:
            lines += [f"Trade-off, model {name}:", "",
                      markdown(["threshold", "value", "members rejected", "members named right", "largest face right",
                                "strangers named"],
                               [[r["threshold_from"], f"{r['threshold']:.3f}", percent(r["members_rejected"]),
                                 percent(r["members_named_right"]), percent(r["members_largest_face_right"]),
                                 percent(r["strangers_named"])] for r in m["tradeoff"]]), ""]
    g, alone = result["grouping"], result["models"]["without others"]
    lines += ["Grouping (`people`, model without others):", "",
              markdown(["faces looked at", "faces scored (strangers / members)", "people scored", "groups",
                        "faces grouped", "largest group", "largest group's top person", "BCubed precision",
                        "BCubed recall", "BCubed F"],
                       [[g["unknown_faces"], f"{g['scored_faces']} ({g['scored_stranger_faces']} / "
                         f"{g['scored_member_faces']})", g["people_scored"], g["groups"], g["faces_grouped"],
                         g["largest_group"], None if g["largest_group_person"] is None else
                         f"{g['largest_group_person']} ({percent(g['largest_group_purity'])})",
                         f"{g['bcubed_precision']:.3f}", f"{g['bcubed_recall']:.3f}", f"{g['bcubed_f']:.3f}"]]), "",
              "The collection's own structure (model without others):", "",
              markdown(["names", "faces called unknown by the check", "members named right", "strangers named"],
                       [["face by face", 0, percent(alone["members_named_right"]), percent(alone["strangers_named"])],
                        ["checked by the collection (the index)", g["collection_check"]["faces_doubted"],
                         percent(g["collection_check"]["members_named_right"]),
                         percent(g["collection_check"]["strangers_named"])]])]
    return "\n".join(lines)


def finish(result: dict, started: float, load: float) -> None:
    """The run's wall time, the load average at its start (`load`) and end, and the CPUs, into `result`."""
    result["wall_s"] = round(time.perf_counter() - started, 1)
    result["load_average"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    result["cpus"] = os.cpu_count()


def show(result: dict, tables: Callable[[dict], str], *, as_json: bool) -> None:
    """`result` as one JSON object, or as its tables and a line on the run's time and load (`finish`)."""
    if as_json:
        print(json.dumps(finite(result), indent=2))
    else:
        print(tables(result), "", f"wall time: {result['wall_s']:.0f} s; load average at start and end: "
              f"{result['load_average'][0]:.1f}, {result['load_average'][1]:.1f} on {result['cpus']} CPUs", sep="\n")


def finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog="Default data and definitions: see the module's docstring.")
    for name in ("train", "members", "others", "strangers"):
        parser.add_argument(f"--{name}", type=Path, metavar="DIR", help="a folder of folders per person")
    parser.add_argument("--datasets", type=Path, default=DATASETS, help=f"the shared data (default: {DATASETS})")
    parser.add_argument("--embedder", help="train's --embedder (default: chosen by train)")
    parser.add_argument("--cache-dir", type=Path, help="keep the embedding cache here (default: a temporary dir)")
    parser.add_argument("--shared", choices=("blackpink", "kpop15"), default="blackpink",
                        help="which shared data without folders given (default: blackpink; see the module)")
    parser.add_argument("--seed", type=int, default=0, help="--shared kpop15: how its idols are shuffled (default 0)")
    parser.add_argument("--quick", action="store_true", help="a few photos of each folder of the blackpink data")
    parser.add_argument("--json", action="store_true", help="print every figure as one JSON object")
    parser.add_argument("--json-out", type=Path, help="also write that JSON object to this file")
    args = parser.parse_args(argv)
    given = [args.train, args.members, args.others, args.strangers]
    if any(given) and not all(given):
        parser.error("give all of --train, --members, --others and --strangers, or none (the shared data)")
    started, load = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="whosthat-strangers-") as temporary:
        scratch = Path(temporary)
        if all(given):
            folders = Folders(*given)
        elif args.shared == "kpop15":
            folders = kpop15_folders(args.datasets, scratch / "data", args.seed)
        else:
            folders = shared_folders(args.datasets, scratch / "data", args.quick)
        result = run(args, folders, scratch, args.cache_dir or scratch / "cache")
    result["settings"] = {"embedder": args.embedder, "quick": args.quick, "others_supported": has_others(),
                          "default_data": not all(given), "shared": None if all(given) else args.shared,
                          "seed": args.seed}
    finish(result, started, load)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(finite(result), indent=2))
    show(result, tables, as_json=args.json)


if __name__ == "__main__":
    main()
