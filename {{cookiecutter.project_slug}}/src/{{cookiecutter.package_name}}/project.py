"""Locate the project on disk (standard library only: the MLflow plugin imports this)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .names import DISTRIBUTION, ENV_PREFIX

ROOT_VARIABLE = f"{ENV_PREFIX}PROJECT_ROOT"


def declares_project(pyproject: Path) -> bool:
    """Tell whether a pyproject.toml file is this project's own."""
    try:
        with pyproject.open("rb") as file:
            return bool(tomllib.load(file).get("project", {}).get("name") == DISTRIBUTION)
    except (OSError, tomllib.TOMLDecodeError):
        return False


def find_project_root(start: Path | None = None) -> Path | None:
    """Return the project root: the setting if given, else the nearest folder upward that holds it."""
    if configured := os.environ.get(ROOT_VARIABLE):
        return Path(configured).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if declares_project(folder / "pyproject.toml"):
            return folder
    return None
