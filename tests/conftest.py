"""Shared fixtures: the real datasets, small training trees built from them, and models trained once.

Every model here is trained on a small subset of the shared images (symlinks in a temporary
folder, never copies in the repository) with a session-wide temporary cache, so the whole
default suite runs in a few minutes on two CPU cores.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

import whosthat
from whosthat.models.model import Model

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
KPOP15 = DATASETS / "kpop15" / "train"
BLACKPINK = DATASETS / "blackpink" / "photos"
CELEBRITY5 = DATASETS / "celebrity5"
BLACKPINK_GROUP = DATASETS / "blackpink" / "unlabeled" / "blackpink.jpg"
BLACKPINK_MEMBERS = ["jennie_kim", "jisoo_kim", "lisa_manoban", "rose_park"]
#: Left to right in blackpink.jpg (checked by eye): Lisa, Jennie, Jisoo, Rosé.
BLACKPINK_GROUP_ORDER = ["lisa_manoban", "jennie_kim", "jisoo_kim", "rose_park"]

#: kpop15 classes the shared kpop model learns; the others are its strangers.
KPOP_KNOWN = ["Chaeyong", "Chorong", "Eunha", "Irene", "Jihyo", "Lisa", "Naeun", "Nayeon", "Seulgi", "Umji"]
KPOP_STRANGERS = ["Arin", "Dahyun", "Sana", "Yeji", "Yuju"]
#: Photos per known class used to train; the rest of each class is held out for new-photo tests.
KPOP_TRAIN_PER_CLASS = 12
BLACKPINK_TRAIN_PER_CLASS = 20


def in_ci() -> bool:
    """Whether this is a CI run (CI=true, as .ci/run and CI services set it)."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Something a test needs is not here: a developer's run skips the test, a CI run fails it (a broken
    layout must not pass green)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: nothing a test needs may be missing)")
    pytest.skip(reason)


def require(path: Path) -> Path:
    """`path`, a file or folder of the shared datasets, or `missing` when it is not there."""
    if not path.exists():
        missing(f"shared dataset not found at {path} (see {DATASETS / 'README.md'})")
    return path


def images_of(folder: Path) -> list[Path]:
    """The image files of one class folder, sorted, near-duplicates `x(1).jpg` left out."""
    return sorted(p for p in folder.iterdir() if p.is_file() and "(1)" not in p.name)


def link_tree(root: Path, classes: dict[str, Sequence[Path]]) -> Path:
    """A folder-per-class tree of symlinks to the shared images (nothing is copied)."""
    for name, paths in classes.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            (folder / path.name).symlink_to(path)
    return root


def kpop_split() -> tuple[dict[str, list[Path]], dict[str, list[Path]]]:
    """(training photos, held-out photos) per known kpop15 class."""
    require(KPOP15)
    train, held_out = {}, {}
    for name in KPOP_KNOWN:
        photos = images_of(KPOP15 / name)
        train[name] = photos[:KPOP_TRAIN_PER_CLASS]
        held_out[name] = photos[KPOP_TRAIN_PER_CLASS:]
    return train, held_out


def face_tile(path: Path, size: int = 160, margin: int = 48) -> Image.Image:
    """A kpop15 crop with a plain margin around it, as a face would sit in a group photo."""
    face = Image.open(path).convert("RGB").resize((size, size))
    tile = Image.new("RGB", (size + 2 * margin, size + 2 * margin), (128, 128, 128))
    tile.paste(face, (margin, margin))
    return tile


def compose_row(paths: Sequence[Path]) -> Image.Image:
    """The photos side by side in one image, like a group photo of several people."""
    tiles = [face_tile(p) for p in paths]
    width = sum(t.width for t in tiles)
    canvas = Image.new("RGB", (width, tiles[0].height), (128, 128, 128))
    x = 0
    for tile in tiles:
        canvas.paste(tile, (x, 0))
        x += tile.width
    return canvas


@pytest.fixture(scope="session", autouse=True)
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One temporary cache for the whole run: the user's real cache is never read or written.

    `WHOSTHAT_CACHE_DIR` points there too, so the converted FaceNet weights go there as well.
    """
    torch.set_num_threads(2)
    directory = tmp_path_factory.mktemp("whosthat-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WHOSTHAT_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture(scope="session")
def datasets() -> Path:
    return require(DATASETS)


@pytest.fixture(scope="session")
def kpop_train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """KPOP_KNOWN classes, KPOP_TRAIN_PER_CLASS photos each (symlinks)."""
    train, _ = kpop_split()
    return link_tree(tmp_path_factory.mktemp("kpop-train"), train)


@pytest.fixture(scope="session")
def kpop_held_out() -> dict[str, list[Path]]:
    """Photos of the known classes the kpop model never saw."""
    return kpop_split()[1]


@pytest.fixture(scope="session")
def kpop_trained(kpop_train_dir: Path, session_cache: Path, tmp_path_factory: pytest.TempPathFactory
                 ) -> tuple[Model, Path]:
    """FaceNet + logistic trained on 10 kpop15 classes x 12 photos: the model and its file."""
    out = tmp_path_factory.mktemp("kpop-model") / "kpop.wt"
    model = whosthat.train(kpop_train_dir, out=out, embedder="facenet", cache_dir=session_cache)
    return model, out


@pytest.fixture(scope="session")
def kpop_model_file(kpop_trained: tuple[Model, Path]) -> Path:
    return kpop_trained[1]


@pytest.fixture(scope="session")
def kpop_model(kpop_model_file: Path) -> Model:
    """The kpop model as loaded from its file (what a user's later session gets)."""
    return whosthat.load(kpop_model_file)


@pytest.fixture(scope="session")
def blackpink_train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BLACKPINK_TRAIN_PER_CLASS photos per member from blackpink/photos (symlinks)."""
    require(BLACKPINK)
    chosen = {name: images_of(BLACKPINK / name)[:BLACKPINK_TRAIN_PER_CLASS] for name in BLACKPINK_MEMBERS}
    return link_tree(tmp_path_factory.mktemp("blackpink-train"), chosen)


@pytest.fixture(scope="session")
def blackpink_model(blackpink_train_dir: Path, session_cache: Path) -> Model:
    """FaceNet + logistic on the blackpink subset, every photo used to learn (no test split)."""
    return whosthat.train(blackpink_train_dir, embedder="facenet", test_fraction=0.0, cache_dir=session_cache)





ANIME = DATASETS / "anime_newgame8"
#: Four New Game! characters and how many of their training crops the small anime sets use.
ANIME_CLASSES = ["ahagon_umiko", "suzukaze_aoba", "takimoto_hifumi", "yagami_kou"]
ANIME_TRAIN_PER_CLASS = 10


@pytest.fixture(scope="session")
def anime_train_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ANIME_TRAIN_PER_CLASS face crops of each of ANIME_CLASSES from anime_newgame8/train (symlinks)."""
    require(ANIME)
    chosen = {name: images_of(ANIME / "train" / name)[:ANIME_TRAIN_PER_CLASS] for name in ANIME_CLASSES}
    return link_tree(tmp_path_factory.mktemp("anime-train"), chosen)


@pytest.fixture(scope="session")
def anime_test_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The anime_newgame8/test crops of ANIME_CLASSES (symlinks)."""
    require(ANIME)
    chosen = {name: images_of(ANIME / "test" / name) for name in ANIME_CLASSES}
    return link_tree(tmp_path_factory.mktemp("anime-test"), chosen)


@pytest.fixture(scope="session")
def kpop_embeddings(session_cache: Path) -> dict[str, np.ndarray]:
    """FaceNet vectors (YuNet-aligned, as training computes them) of every kpop15/train photo, per class.

    Goes through the session cache, so the kpop model's training reuses these.
    """
    from whosthat.vision.cache import EmbeddingCache
    from whosthat.vision.detectors import create_detector
    from whosthat.vision.embedders import create_embedder
    from whosthat.vision.extract import Extractor

    require(KPOP15)
    extractor = Extractor(create_detector("yunet"), create_embedder("facenet", flip=True))
    out = {}
    for folder in sorted(p for p in KPOP15.iterdir() if p.is_dir()):
        found = list(extractor.extract_paths(images_of(folder), cache=EmbeddingCache(session_cache)))
        out[folder.name] = np.stack([s.embeddings[0] for s in found if len(s.faces)])
    return out


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-quic", "--no-first-run", "--disable-sync"]


@dataclass
class BrowserPage:
    """A headless Chromium page that records console errors and failed requests as they happen."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def screenshot(self, path: Path) -> Path:
        """Full-page screenshot into `path` (the test's folder), copied to $WHOSTHAT_SCREENSHOTS too when set."""
        self.page.screenshot(path=str(path), full_page=True)
        if os.environ.get("WHOSTHAT_SCREENSHOTS"):
            target = Path(os.environ["WHOSTHAT_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.name)
        return path

    def broken_images(self) -> list[str]:
        """The `src` of every <img> on the page that did not load."""
        return self.page.evaluate(
            "Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src.slice(0, 80))")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (`make browser` installs it); skipped where it is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[BrowserPage]:
    """A fresh page (1280x900) in its own context; console errors and failed requests are collected."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorded = BrowserPage(page)
    page.on("console", lambda m: recorded.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: recorded.console_errors.append(str(e)))
    page.on("requestfailed", lambda r: recorded.failed_requests.append(f"{r.url[:80]} {r.failure}"))
    yield recorded
    context.close()
