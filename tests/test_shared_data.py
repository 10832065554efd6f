"""The shared datasets the suite reads: a CI run without them fails instead of skipping (a broken layout
must not pass green), and the CI script says it is CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATASETS, require

ROOT = Path(__file__).resolve().parents[1]


def test_missing_data_fails_a_ci_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        require(tmp_path / "not-there")


def test_missing_data_skips_a_developer_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require(tmp_path / "not-there")


def test_the_ci_script_runs_as_ci() -> None:
    assert "export CI=true" in (ROOT / ".ci" / "run").read_text()


def test_the_shared_datasets_are_beside_the_project() -> None:
    assert require(DATASETS).is_dir()
