"""Tests for the command line."""

from __future__ import annotations

import json
import os
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
    shipped = Path(__file__).parents[2] / "params.yaml"
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


def run_module(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process, as DVC and make run it."""
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, f"{ENV_PREFIX}PROJECT_ROOT": str(project)},
    )


def test_a_corrupt_store_is_one_line_naming_the_file(project_dir: Path) -> None:
    """A sqlite store that is not a database stops every command with one line, no traceback."""
    store = project_dir / ".mlflow" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"this is no database" * 100)
    completed = run_module(project_dir, "rollback")
    assert completed.returncode == 1
    assert f"{store}: not a readable MLflow store" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_serving_without_a_champion_says_to_deploy(trained_project: Settings) -> None:
    """predict, serve and server start with no champion name the state and the fix, in one line."""
    from {{ cookiecutter.package_name }}.tracking.store import connect

    client = connect(trained_project)
    for alias in client.get_registered_model(trained_project.model_name).aliases:
        client.delete_registered_model_alias(trained_project.model_name, alias)
    env = {f"{ENV_PREFIX}PROJECT_ROOT": str(trained_project.project_root)}
    for command in (
        ["predict", "--input", "x.csv", "--output", "y.csv"],
        ["serve"],
        ["server", "start"],
    ):
        result = CliRunner().invoke(cli, command, env=env)
        assert result.exit_code == 1, (command, result.output)
        assert "has no version with alias 'champion'" in result.output
        assert "run `make deploy` first" in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)


def test_info_masks_credentials(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`info` never prints the password of a tracking URI."""
    monkeypatch.setenv(f"{ENV_PREFIX}TRACKING_URI", "https://ana:hunter2@mlflow.internal")
    result = CliRunner().invoke(cli, ["info", "--json"])
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    assert "https://ana:***@mlflow.internal" in result.output


def test_an_unwritable_log_folder_is_one_line(project_dir: Path) -> None:
    """A log folder that cannot be created is named with the setting that moves it."""
    (project_dir / "logs").write_text("a file where the folder should be")
    result = CliRunner().invoke(cli, ["info"])
    assert result.exit_code == 1
    assert f"cannot write logs to {project_dir / 'logs'}" in result.output
    assert f"{ENV_PREFIX}LOG_DIR" in result.output
