"""End-to-end: the installed bake's make targets and console script, as a user meets them (slow).

Its lint and type checks run here, against 3.11, the oldest Python a bake supports; its unit tests run in
`test_pythons.py`, on the newest (the default bake on 3.14), with the same checks against 3.14.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_make

pytestmark = pytest.mark.slow


def test_baked_project_passes_its_static_checks(installed_project: Path) -> None:
    """`make lint typecheck` is green on a fresh bake, with no edits: ruff, black and strict mypy for 3.11."""
    result = run_make(installed_project, "lint", "typecheck")
    assert "Success: no issues found" in result.stdout


def test_help_lists_every_target(installed_project: Path) -> None:
    """`make` alone documents each target."""
    listing = run_make(installed_project).stdout
    for target in ("install", "lint", "format", "typecheck", "test", "clean"):
        assert f"  {target}" in listing, target


def test_console_script_reports_the_project(installed_project: Path) -> None:
    """The installed console script runs and finds its project root."""
    completed = subprocess.run(
        [installed_project / ".venv/bin/tumor-classifier", "info", "--json"],
        cwd=installed_project / "src",
        capture_output=True,
        text=True,
        check=True,
    )
    assert f'"project_root": "{installed_project}"' in completed.stdout


def test_tag_check_reads_the_tag_as_data(installed_project: Path, tmp_path: Path) -> None:
    """`make tag-check` compares TAG as text: shell syntax in it runs nothing."""
    marker = tmp_path / "ran"
    result = run_make(
        installed_project, "tag-check", f'TAG=v1"; touch {marker}; echo "', check=False
    )
    assert result.returncode != 0
    assert "is not the package version v0.1.0" in result.stderr
    assert not marker.exists(), "the tag was run as shell code"
    assert run_make(installed_project, "tag-check", "TAG=v0.1.0").returncode == 0
