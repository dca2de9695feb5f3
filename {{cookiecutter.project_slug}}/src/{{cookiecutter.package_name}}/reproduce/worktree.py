"""A temporary git worktree at a recorded commit: the version's code and params, never the working folder's."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from . import ReproduceError

GIT_TIMEOUT = 120  # seconds: a worktree of a large repository is written to disk


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run git in `repo`; a failure with `check` raises ReproduceError with git's own message."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, timeout=GIT_TIMEOUT
        )
    except FileNotFoundError:
        raise ReproduceError("git is not installed: reproducing needs it") from None
    if check and done.returncode != 0:
        detail = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        raise ReproduceError(f"git {args[0]} failed in {repo}: {detail}")
    return done


def require_commit(repo: Path, commit: str) -> None:
    """Refuse a commit this repository does not hold (a clone without it, a rewritten history)."""
    if git(repo, "rev-parse", "--is-inside-work-tree", check=False).returncode != 0:
        raise ReproduceError(f"{repo} is not a git repository: there is no commit to rebuild")
    if git(repo, "cat-file", "-e", commit + "^{commit}", check=False).returncode != 0:
        raise ReproduceError(
            f"commit {commit[:12]} is not in this repository: fetch it (git fetch --all) or "
            "reproduce from a clone that has it"
        )


@contextmanager
def worktree_at(repo: Path, commit: str, folder: Path) -> Iterator[Path]:
    """A detached worktree of `repo` at `commit` inside `folder`; removed afterwards, even on Ctrl+C.

    The repository's own working folder and index are untouched: a worktree has its own checkout and
    index, and `git worktree remove` then `prune` drop every trace of it.
    """
    require_commit(repo, commit)
    tree = folder / "tree"
    git(repo, "worktree", "add", "--detach", "--quiet", str(tree), commit)
    try:
        yield tree
    finally:
        remove_worktree(repo, tree)


def remove_worktree(repo: Path, tree: Path) -> None:
    """Remove the worktree, its files (the rebuilt outputs are untracked) and git's record of it."""
    git(repo, "worktree", "remove", "--force", "--force", str(tree), check=False)
    shutil.rmtree(tree, ignore_errors=True)
    git(repo, "worktree", "prune", check=False)
