"""Tests for the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import Settings


def test_info_reports_settings_and_versions(project_dir: Path) -> None:
    """`info --json` prints the resolved settings and the library versions."""
    result = CliRunner().invoke(cli, ["info", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["version"] == __version__
    assert report["settings"]["project_root"] == str(project_dir.resolve())
    assert report["settings"]["tracking_uri (resolved)"].startswith("sqlite:///")
    assert report["libraries"]["mlflow"][0].isdigit()


def test_info_as_a_table(project_dir: Path) -> None:
    """Plain `info` prints a readable table."""
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 0, result.output
    assert "log_level" in result.output
    assert "scikit-learn" in result.output


def test_bad_setting_is_a_usage_error(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad setting exits 2 with the variable named, before any command runs."""
    monkeypatch.setenv(f"{ENV_PREFIX}LOG_LEVEL", "LOUD")
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 2
    assert f"{ENV_PREFIX}LOG_LEVEL='LOUD'" in result.output


def test_module_entry_point_runs(project_dir: Path) -> None:
    """`python -m {{ cookiecutter.package_name }}` is the same command line, in a fresh process."""
    completed = subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert __version__ in completed.stdout


def test_version_matches_the_package_metadata() -> None:
    """`__version__` is the version in pyproject.toml (bump both together)."""
    assert __version__ == version("{{ cookiecutter.project_slug }}")


def test_stage_command_names_bad_params(project_dir: Path) -> None:
    """A stage run with an incomplete params.yaml exits 1 naming the missing keys, no traceback."""
    (project_dir / "params.yaml").write_text("task: classification\n")
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 1
    assert "params.yaml: invalid parameters" in result.output
    assert "  seed: Field required" in result.output


def test_promote_before_training_says_what_to_do(project_dir: Path) -> None:
    """Promoting with nothing registered explains the next step."""
    shipped = Path(__file__).parents[1] / "params.yaml"
    (project_dir / "params.yaml").write_text(shipped.read_text())
    result = CliRunner().invoke(cli, ["promote"])
    assert result.exit_code == 1
    assert "run `make train` first" in result.output


def test_rollback_with_nothing_to_go_back_to_fails_clearly(trained_project: Settings) -> None:
    """Rolling back with no version to go back to is one line that says why, never a traceback."""
    env = {f"{ENV_PREFIX}PROJECT_ROOT": str(trained_project.project_root)}
    result = CliRunner().invoke(cli, ["rollback"], env=env)
    assert result.exit_code == 1
    assert "nothing to roll back to" in result.output or "`make deploy` first" in result.output
    assert "Traceback" not in result.output
