"""Tests for finding the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.names import DISTRIBUTION
from {{ cookiecutter.package_name }}.project import ROOT_VARIABLE, find_project_root


def test_finds_root_from_a_subfolder(project_dir: Path) -> None:
    """It walks up from a nested folder to the folder holding this project's pyproject.toml."""
    nested = project_dir / "notebooks" / "deep"
    nested.mkdir(parents=True)
    assert find_project_root(nested) == project_dir.resolve()


def test_ignores_other_projects(tmp_path: Path) -> None:
    """A pyproject.toml of another project (or a broken one) is not this project's root."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[project\n")
    assert find_project_root(broken) is None


def test_setting_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PROJECT_ROOT variable overrides the search."""
    monkeypatch.setenv(ROOT_VARIABLE, str(tmp_path))
    assert find_project_root(Path("/")) == tmp_path.resolve()


def test_a_folder_without_the_project_is_searched_again(tmp_path: Path) -> None:
    """Only a root that was found is kept: the project made here afterwards is found."""
    assert find_project_root(tmp_path) is None
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    assert find_project_root(tmp_path) == tmp_path.resolve()
