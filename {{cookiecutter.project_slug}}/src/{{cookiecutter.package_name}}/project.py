"""Locate the project on disk (standard library only: the MLflow plugin imports this)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .names import DISTRIBUTION, ENV_PREFIX

ROOT_VARIABLE = f"{ENV_PREFIX}PROJECT_ROOT"
_found: dict[Path, Path] = {}  # folder -> the project root above it


def declares_project(pyproject: Path) -> bool:
    """Tell whether a pyproject.toml file is this project's own."""
    try:
        with pyproject.open("rb") as file:
            return bool(tomllib.load(file).get("project", {}).get("name") == DISTRIBUTION)
    except (OSError, tomllib.TOMLDecodeError):
        return False


def find_project_root(start: Path | None = None) -> Path | None:
    """Return the project root: the setting if given, else the nearest folder upward that holds it.

    A folder found once is kept for the process (the plugin asks at every run start: twice per trial of a
    search); a folder where none was found is searched again next time.
    """
    if configured := os.environ.get(ROOT_VARIABLE):
        return Path(configured).resolve()
    here = (start or Path.cwd()).resolve()
    if here in _found:
        return _found[here]
    for folder in (here, *here.parents):
        if declares_project(folder / "pyproject.toml"):
            _found[here] = folder
            return folder
    return None
