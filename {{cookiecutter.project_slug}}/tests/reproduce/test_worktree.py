"""The temporary worktree, on a real git repository: at the commit, and gone afterwards whatever happens."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.reproduce import ReproduceError
from {{ cookiecutter.package_name }}.reproduce.rebuild import consumed_hashes, pin_restored_outputs
from {{ cookiecutter.package_name }}.reproduce.worktree import worktree_at

IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its output."""
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=repo, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two commits of params.yaml (seed 1, then seed 2 in the working folder too)."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for seed in (1, 2):
        (root / "params.yaml").write_text(f"seed: {seed}\n")
        git(root, "add", "params.yaml")
        git(root, "commit", "-q", "-m", f"seed {seed}")
    return root


def worktrees(repo: Path) -> list[str]:
    """The worktrees git knows of besides the repository itself."""
    return [
        line
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ][1:]


def test_the_worktree_holds_the_commit_and_is_removed(repo: Path, tmp_path: Path) -> None:
    """Inside, the files are the old commit's; afterwards neither the folder nor git's record is left."""
    first = git(repo, "rev-list", "--max-parents=0", "HEAD")
    with worktree_at(repo, first, tmp_path / "scratch") as tree:
        assert (tree / "params.yaml").read_text() == "seed: 1\n"
        (tree / "rebuilt.csv").write_text("an untracked output\n")
    assert not tree.exists()
    assert worktrees(repo) == []
    assert (repo / "params.yaml").read_text() == "seed: 2\n", "the working folder is untouched"
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt])
def test_the_worktree_is_removed_on_failure_and_ctrl_c(
    repo: Path, tmp_path: Path, interruption: type[BaseException]
) -> None:
    """A failing rebuild or Ctrl+C still removes the worktree."""
    with (
        pytest.raises(interruption),
        worktree_at(repo, git(repo, "rev-parse", "HEAD"), tmp_path) as tree,
    ):
        raise interruption
    assert not tree.exists()
    assert worktrees(repo) == []


def test_a_commit_not_in_the_repository_is_refused(repo: Path, tmp_path: Path) -> None:
    """A commit this clone lacks cannot be judged: one line says so and how to get it."""
    with (
        pytest.raises(ReproduceError, match="commit 0123456789ab is not in this repository: fetch"),
        worktree_at(repo, "0123456789ab" * 3 + "0123", tmp_path),
    ):
        pass


def test_a_folder_outside_git_is_refused(tmp_path: Path) -> None:
    """Without a repository there is nothing to rebuild from."""
    with (
        pytest.raises(ReproduceError, match="is not a git repository"),
        worktree_at(tmp_path, "a" * 40, tmp_path),
    ):
        pass


LOCK = {
    "schema": "2.0",
    "stages": {
        "ingest": {
            "outs": [{"path": "data/raw", "hash": "md5", "md5": "old.dir", "size": 1, "nfiles": 2}]
        },
        "train": {
            "deps": [
                {"path": "data/prepared", "hash": "md5", "md5": "p.dir"},
                {"path": "src/pkg/pipeline/train.py", "hash": "md5", "md5": "code"},
            ]
        },
    },
}


def test_the_restored_data_is_pinned_to_the_recorded_hash(tmp_path: Path) -> None:
    """The ingest output takes the run's recorded md5 (its old size dropped); the train inputs are read back."""
    lock = tmp_path / "dvc.lock"
    lock.write_text(yaml.safe_dump(LOCK))
    assert pin_restored_outputs(lock, {"data/raw": "recorded.dir"}) == {"data/raw": "recorded.dir"}
    entry = yaml.safe_load(lock.read_text())["stages"]["ingest"]["outs"][0]
    assert entry == {"path": "data/raw", "hash": "md5", "md5": "recorded.dir"}
    assert consumed_hashes(lock) == {"data/raw": "recorded.dir", "data/prepared": "p.dir"}
    assert pin_restored_outputs(tmp_path / "missing.lock", {"data/raw": "x"}) == {}
