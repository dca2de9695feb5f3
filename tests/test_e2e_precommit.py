"""End-to-end: a fresh bake's own pre-commit hooks pass on every file, offline (slow)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import project_env

pytestmark = pytest.mark.slow


def git_state(project: Path) -> str:
    """What git sees changed in the project: the hooks must leave it as it was."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_pre_commit_passes_on_every_file_offline(installed_project: Path, tmp_path: Path) -> None:
    """`pre-commit run --all-files` is green with the lock's tools; it downloads and changes nothing.

    Every hook is local and runs a tool of the project's .venv (`poetry run`), so pre-commit has no hook
    environment to build: an empty PRE_COMMIT_HOME stays empty, and no index is reachable (PIP_NO_INDEX, and a
    proxy that does not exist). Fixing hooks (whitespace, end of file, ruff --fix) would change files if they
    found anything; the git state before and after is the same, so the shared bake is left as it was.
    """
    config = yaml.safe_load((installed_project / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {hook["language"] for hook in hooks} == {"system"}
    assert all(hook["entry"].startswith("poetry run ") for hook in hooks)
    before = git_state(installed_project)
    home = tmp_path / "pre-commit-home"
    offline = {
        "PRE_COMMIT_HOME": str(home),
        "PIP_NO_INDEX": "1",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    completed = subprocess.run(
        [installed_project / ".venv/bin/pre-commit", "run", "--all-files", "--color", "never"],
        cwd=installed_project,
        env={**project_env(), **offline},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-2000:]
    passed = [line for line in completed.stdout.splitlines() if line.endswith("Passed")]
    assert len(passed) == len(hooks), completed.stdout
    assert git_state(installed_project) == before, "the hooks changed files of a fresh bake"
    assert not any(home.glob("repo*")), "no hook environment was downloaded"
