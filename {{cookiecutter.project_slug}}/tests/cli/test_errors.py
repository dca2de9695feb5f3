"""Tests for the command line's one mapping of the project's errors to click's: one line, the right exit code."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.names import ENV_PREFIX


class FixMeError(ProjectError):
    """A domain error as any room raises it: it knows nothing of click."""


@pytest.fixture
def failing_commands() -> Iterator[None]:
    """Commands that fail in their body, at the top level and inside a subgroup, added for one test."""

    @click.command("fail")
    @click.argument("kind")
    def fail(kind: str) -> None:
        if kind == "project":
            raise FixMeError("params.yaml: seed is missing: add `seed: 42`")
        if kind == "exit":
            sys.exit(3)
        raise RuntimeError("a bug, not the user's to fix")

    @click.group("nested")
    def nested() -> None:
        """A subgroup, as `canary` and `server` are."""

    nested.add_command(fail)
    cli.add_command(fail)
    cli.add_command(nested)
    yield
    del cli.commands["fail"], cli.commands["nested"]


@pytest.mark.parametrize("command", [["fail"], ["nested", "fail"]])
def test_a_project_error_is_one_line_and_exit_1(
    project_dir: Path, failing_commands: None, command: list[str]
) -> None:
    """A ProjectError raised in any command, however deep, prints `Error: <message>` alone and exits 1."""
    result = CliRunner().invoke(cli, [*command, "project"])
    assert result.exit_code == 1
    assert result.output == "Error: params.yaml: seed is missing: add `seed: 42`\n"
    assert isinstance(result.exception, SystemExit)


def test_other_exceptions_are_not_hidden(project_dir: Path, failing_commands: None) -> None:
    """Only the project's errors are mapped: a bug still raises, with its traceback."""
    result = CliRunner().invoke(cli, ["fail", "bug"])
    assert isinstance(result.exception, RuntimeError)
    assert "Error:" not in result.output


def test_an_exit_code_of_a_command_passes_through(
    project_dir: Path, failing_commands: None
) -> None:
    """A command's own exit code (monitor exits 3 on drift) is not turned into an error."""
    result = CliRunner().invoke(cli, ["fail", "exit"])
    assert result.exit_code == 3
    assert result.output == ""


def run_module(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command line in a fresh process, as make runs it."""
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args],
        cwd=project,
        capture_output=True,
        text=True,
        env={**os.environ, f"{ENV_PREFIX}PROJECT_ROOT": str(project), **env},
    )


def test_a_real_domain_error_is_one_line_on_stderr(project_dir: Path) -> None:
    """A pipeline error in a real command is one `Error:` line on stderr, exit 1, no traceback."""
    completed = run_module(project_dir, "data-source", "datasets/missing.csv", "--target", "y")
    assert completed.returncode == 1
    assert completed.stderr.startswith("Error: ")
    assert "missing.csv" in completed.stderr
    assert len(completed.stderr.splitlines()) == 1
    assert completed.stdout == ""


def test_a_bad_setting_is_a_usage_error_in_a_fresh_process(project_dir: Path) -> None:
    """A SettingsError exits 2 (click's usage error) with the variable named, no traceback."""
    completed = run_module(project_dir, "info", **{f"{ENV_PREFIX}LOG_LEVEL": "LOUD"})
    assert completed.returncode == 2
    assert completed.stderr.startswith("Error: ")
    assert f"{ENV_PREFIX}LOG_LEVEL='LOUD'" in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.mark.parametrize("share", ["nan", "inf", "0", "101"])
def test_a_canary_share_that_is_no_percentage_is_refused(project_dir: Path, share: str) -> None:
    """--percent nan (which click's range lets in) is refused by name before anything is gated or written."""
    result = CliRunner().invoke(cli, ["deploy", "--strategy", "canary", "--percent", share])
    assert result.exit_code == 2
    assert "Invalid value for '--percent'" in result.output
    assert not (project_dir / ".mlflow").exists(), "nothing was opened, let alone written"
