"""The serving-only install (the image's): `serve` needs nothing of the `pipeline` extra; the rest says so.

A command that needs the extra fails in one line where it is missing.

The checks run the package in a fresh Python where an import hook refuses the extra's own libraries, as their
absence would. MLflow cannot be hidden so (the dev venv's `mlflow` files are the full package's, which import
SQLAlchemy): the template's slow test checks the real image, whose venv has mlflow-skinny only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import {{ cookiecutter.package_name }}
from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.names import DISTRIBUTION
from {{ cookiecutter.package_name }}.tracking import store

# What the image lacks, by import name: the `pipeline` extra's libraries besides MLflow.
ABSENT = ("dvc", "filelock", "optuna", "optuna_dashboard", "pandera")
PARAMS = Path(__file__).parents[2] / "params.yaml"
PACKAGE = {{ cookiecutter.package_name }}.__name__
HIDE = f"""
import sys

class Absent:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {ABSENT!r}:
            raise ModuleNotFoundError("No module named " + repr(name), name=name)

sys.meta_path.insert(0, Absent())
"""


def slim(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` in a Python without the pipeline extra's libraries."""
    return subprocess.run(
        [sys.executable, "-c", HIDE + code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_server_imports_nothing_of_the_pipeline_extra(project_dir: Path) -> None:
    """The app, the `serve` command and loading an exported model import without the extra."""
    imported = slim(
        f"import {PACKAGE}.serving.app, {PACKAGE}.cli.serve, {PACKAGE}.model.export\n"
        f"print(sorted(set(sys.modules) & set({ABSENT!r})))",
        project_dir,
    )
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("command", "needs"),
    [
        (["tune", "run", "--trials", "1"], "filelock"),
        (["deploy"], "filelock"),
        (["data-schema"], "pandera"),
    ],
)
def test_a_command_of_the_extra_says_what_to_install(
    project_dir: Path, command: list[str], needs: str
) -> None:
    """Without the extra, a pipeline command fails in one line naming the library and the extra."""
    shutil.copy(PARAMS, project_dir)
    ran = slim(
        f"from {PACKAGE}.cli import main; sys.argv = ['x', *{command!r}]; main()",
        project_dir,
    )
    assert ran.returncode == 1
    (line,) = [line for line in ran.stderr.splitlines() if line.startswith("Error:")]
    assert f"`{command[0]}` needs {needs}" in line
    assert f"pip install '{DISTRIBUTION}[pipeline]'" in line
    assert "Traceback" not in ran.stderr


def test_help_lists_every_command_without_the_extra(project_dir: Path) -> None:
    """`--help` imports no command's libraries."""
    helped = slim(
        f"from {PACKAGE}.cli import main; sys.argv = ['x', '--help']; main()", project_dir
    )
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "tune" in helped.stdout
    assert "serve" in helped.stdout


def test_the_embedded_store_without_its_database_driver_says_what_to_install(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """mlflow-skinny opens no sqlite store: `promote` says so in one line, before MLflow refuses the URI."""
    shutil.copy(PARAMS, project_dir)
    monkeypatch.setattr(store, "find_spec", lambda name: None if name == "sqlalchemy" else object())
    result = CliRunner().invoke(cli, ["promote"])
    assert result.exit_code == 1
    assert "`promote` needs sqlalchemy" in result.output
    assert f"pip install '{DISTRIBUTION}[pipeline]'" in result.output
