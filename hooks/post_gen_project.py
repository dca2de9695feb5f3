"""Prune what the chosen options turn off, then create the git repository when asked."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

# The only Jinja in this file: cookiecutter renders the whole context into one JSON string.
ANSWERS: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")

# (answer, value) -> paths that exist only when that answer has another value.
REMOVED_WHEN: dict[tuple[str, str], tuple[str, ...]] = {
    ("license", "Proprietary"): ("LICENSE",),
    ("publish_to_pypi", "no"): (".github/workflows/release.yml",),
}


def prune(project: Path) -> None:
    for (answer, value), paths in REMOVED_WHEN.items():
        if ANSWERS[answer] != value:
            continue
        for relative in paths:
            path = project / relative
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def git(project: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=project, check=True, capture_output=True, text=True)


def init_git(project: Path) -> None:
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
    fallback = [] if identity else [
        "-c", f"user.name={ANSWERS['author_name']}", "-c", f"user.email={ANSWERS['author_email']}"
    ]  # fmt: skip
    git(
        project,
        *fallback,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        "Initial commit from cookiecutter-mlops",
    )


def main() -> int:
    project = Path.cwd()
    prune(project)
    if ANSWERS["init_git"] == "yes":
        try:
            init_git(project)
        except subprocess.CalledProcessError as error:
            print(f"warning: git {error.cmd[1]} failed: {error.stderr.strip()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
