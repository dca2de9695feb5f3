"""Tests that the command line starts light: its modules load no heavy library until a command needs it."""

from __future__ import annotations

import subprocess
import sys

from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.tracking.store import CHAMPION

HEAVY = ("mlflow", "pandas", "sklearn", "fastapi", "uvicorn", "psutil", "sqlalchemy")


def test_importing_the_cli_loads_no_heavy_library() -> None:
    """`import {{ cookiecutter.package_name }}.cli` in a fresh process leaves MLflow, pandas and the server unloaded."""
    probe = f"import sys, {{ cookiecutter.package_name }}.cli; print(sorted(set({HEAVY!r}) & set(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_the_alias_defaults_are_the_champion() -> None:
    """The commands' default alias, written out to keep MLflow unloaded, is the store's champion."""
    for name in ("export-model", "predict"):
        (alias,) = [option for option in cli.commands[name].params if option.name == "alias"]
        assert alias.default == CHAMPION, name


def test_every_command_lives_in_a_topic_module() -> None:
    """The group only gathers commands: each is defined in one of cli's topic modules."""
    for name, command in cli.commands.items():
        assert command.callback is not None, name
        module = command.callback.__module__
        assert module.startswith("{{ cookiecutter.package_name }}.cli."), (name, module)
