"""Run context provider: tags every run started inside the project with its provenance."""

from __future__ import annotations

import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from ..names import DISTRIBUTION, PACKAGE
from ..project import find_project_root
from ..provenance import dvc_output_hashes, file_sha256
from . import warn

PREFIX = f"{PACKAGE}."
LIBRARIES = ("mlflow", "dvc", "scikit-learn", "pandas", "numpy")
SOURCE_SUFFIXES = (".py",)
# Untracked files here make a run dirty too: a new module the run imported is not in the commit.
SOURCE_FOLDERS = ("src/", "tests/")


@functools.cache
def environment_tags() -> dict[str, str]:
    """Project, Python and key library versions (fixed for the life of a process)."""
    tags = {"python": platform.python_version()}
    for name in (DISTRIBUTION, *LIBRARIES):
        try:
            tags["project.version" if name == DISTRIBUTION else f"lib.{name}"] = version(name)
        except PackageNotFoundError:
            continue
    return tags


def git_tags(root: Path) -> dict[str, str]:
    """Commit, branch and whether the source differs from it, from one `git status` call.

    Dirty means a tracked file changed, or an untracked file sits in the source (a new module).
    """
    status = subprocess.run(
        ["git", "status", "--porcelain=v2", "--branch", "--untracked-files=all"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=5,
        check=True,
    ).stdout.splitlines()
    headers = dict(line[2:].split(" ", 1) for line in status if line.startswith("# "))
    changed = [line for line in status if line[:2] in ("1 ", "2 ", "u ")]
    untracked = [line[2:] for line in status if line.startswith("? ")]
    new_source = [
        p for p in untracked if p.startswith(SOURCE_FOLDERS) or p.endswith(SOURCE_SUFFIXES)
    ]
    tags = {"git.dirty": str(bool(changed or new_source)).lower()}
    if headers.get("branch.oid", "(initial)") != "(initial)":
        tags["git.commit"] = headers["branch.oid"]
    if headers.get("branch.head", "(detached)") != "(detached)":
        tags["git.branch"] = headers["branch.head"]
    return tags


def dvc_tags(root: Path) -> dict[str, str]:
    """What the run consumes: the sha256 of params.yaml and the md5 of each data input DVC recorded.

    dvc.lock as a whole is not hashed: `dvc repro` rewrites it while the stages run, so its hash would
    never match the committed file, whereas these match the committed params.yaml and dvc.lock entries.
    """
    tags = {}
    if experiment := os.environ.get("DVC_EXP_NAME"):  # set by `dvc exp run`: matches `dvc exp show`
        tags["dvc.experiment"] = experiment
    if (root / "params.yaml").is_file():
        tags["params.sha256"] = file_sha256(root / "params.yaml")
    for path, md5 in dvc_output_hashes(root).items():
        if not path.endswith(SOURCE_SUFFIXES):
            tags[f"data.{path}"] = md5
    return tags


class ProjectRunContextProvider:
    """Tags runs started inside the project with `<package>.*` provenance tags."""

    def in_context(self) -> bool:
        """Active when the current directory is inside the project (or PROJECT_ROOT is set)."""
        return find_project_root() is not None

    def tags(self) -> dict[str, str]:
        """Compute what it can; a failing part adds a context_error tag instead of raising."""
        root = find_project_root() or Path.cwd()
        tags: dict[str, str] = {}
        errors = []
        for part in (
            environment_tags,
            functools.partial(git_tags, root),
            functools.partial(dvc_tags, root),
        ):
            try:
                tags.update(part())
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}".strip())
        if errors:
            tags["context_error"] = "; ".join(errors)[:5000]
            warn(f"some provenance tags could not be computed: {tags['context_error']}")
        return {PREFIX + key: value for key, value in tags.items()}
