"""Small photo collections for the collection tests, copied from the shared sets (never into the repository)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from conftest import BLACKPINK, BLACKPINK_GROUP, BLACKPINK_MEMBERS, BLACKPINK_TRAIN_PER_CLASS, DATASETS, images_of

CELEBRITY5 = DATASETS / "celebrity5" / "train"
#: Photos per member, and per stranger, in the collection.
PER_MEMBER = 3
STRANGERS = {"ben_afflek": 5, "mindy_kaling": 5}
BROKEN = ("broken/empty.jpg", "broken/truncated.jpg", "broken/not-an-image.png")


def member_photos(per_member: int = PER_MEMBER) -> dict[str, list[Path]]:
    """Blackpink photos the blackpink model did not learn from, per member."""
    return {m: images_of(BLACKPINK / m)[BLACKPINK_TRAIN_PER_CLASS:BLACKPINK_TRAIN_PER_CLASS + per_member]
            for m in BLACKPINK_MEMBERS}


def stranger_photos(counts: dict[str, int] = STRANGERS, skip: int = 0) -> dict[str, list[Path]]:
    """celebrity5 photos (people the blackpink model does not know), per person."""
    return {name: sorted((CELEBRITY5 / name).iterdir())[skip:skip + n] for name, n in counts.items()}


def copy_photos(root: Path, folders: dict[str, Sequence[Path]]) -> Path:
    """`root/<folder>/<photo>` copies (the tests change and delete them; the shared sets stay untouched)."""
    for folder, paths in folders.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copyfile(path, root / folder / path.name)
    return root


def add_broken_files(root: Path) -> None:
    """An empty file, a truncated JPEG and a text file named as a PNG."""
    (root / "broken").mkdir(exist_ok=True)
    (root / BROKEN[0]).write_bytes(b"")
    (root / BROKEN[1]).write_bytes(BLACKPINK_GROUP.read_bytes()[:4000])
    (root / BROKEN[2]).write_text("not a picture\n")
