"""Prune what the chosen options turn off, then create the git repository when asked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

# (answer, value) -> paths that exist only when that answer has another value.
REMOVED_WHEN: dict[tuple[str, str], tuple[str, ...]] = {
    ("license", "Proprietary"): ("LICENSE",),
    ("publish_to_pypi", "no"): (".github/workflows/release.yml",),
}


def prune(project: Path, answers: dict[str, str]) -> None:
    """Delete the files of options that are off."""
    for (answer, value), paths in REMOVED_WHEN.items():
        if answers[answer] != value:
            continue
        for relative in paths:
            path = project / relative
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


class GitError(RuntimeError):
    """A git subcommand failed; the message names it and repeats git's own words."""


def git(project: Path, subcommand: str, *args: str, options: tuple[str, ...] = ()) -> None:
    """Run `git [options] subcommand args` in the project; raise GitError naming the subcommand."""
    completed = subprocess.run(
        ["git", *options, subcommand, *args], cwd=project, capture_output=True, text=True
    )
    if completed.returncode != 0:
        raise GitError(f"git {subcommand} failed: {completed.stderr.strip()}")


def init_git(project: Path, answers: dict[str, str]) -> None:
    """Create the repository on main with everything in one first commit."""
    if shutil.which("git") is None:
        print(
            "warning: git is not installed: no repository was created (run `git init` later)",
            file=sys.stderr,
        )
        return
    git(project, "init", "--quiet", "--initial-branch=main")
    git(project, "add", "--all")
    # Respect the user's git identity; fall back to the template answers only where none is set.
    identity = subprocess.run(
        ["git", "config", "user.email"], cwd=project, capture_output=True, text=True
    ).stdout.strip()
    fallback = () if identity else (
        "-c", f"user.name={answers['author_name']}", "-c", f"user.email={answers['author_email']}"
    )  # fmt: skip
    message = "Initial commit from cookiecutter-mlops"
    git(project, "commit", "--quiet", "--no-verify", "-m", message, options=fallback)


def main() -> int:
    # The only Jinja in this file, read only when cookiecutter runs the rendered hook: the answers as JSON.
    answers: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")
    project = Path.cwd()
    prune(project, answers)
    if answers["init_git"] == "yes":
        try:
            init_git(project, answers)
        except GitError as error:
            print(f"warning: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
