"""Prune what the chosen options turn off, record the template (.cruft.json), create the git repository."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

# (answer, value) -> paths that exist only when that answer has another value.
REMOVED_WHEN: dict[tuple[str, str], tuple[str, ...]] = {
    ("license", "Proprietary"): ("LICENSE",),
    ("publish_to_pypi", "no"): (".github/workflows/release.yml",),
    ("tracking", "local"): ("compose.yaml", "tracking-server.Dockerfile"),
    # The example data of "Use your own data" (README.md): one file and a broken second version per task.
    # And the contract of the task's default dataset, reviewed and committed like yours will be.
    ("task", "classification"): (
        "tests/data/spend.csv",
        "tests/data/spend-v2.csv",
        "datasets/sklearn-diabetes.schema.yaml",
    ),
    ("task", "regression"): (
        "tests/data/churn.csv",
        "tests/data/churn-v2.csv",
        "datasets/sklearn-breast_cancer.schema.yaml",
    ),
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


# Keys cookiecutter adds about this one run on this machine (output folder, local template copy, --checkout):
# cruft records none of them, and they would make .cruft.json differ between machines.
RUN_KEYS = frozenset({"_output_dir", "_repo_dir", "_checkout"})


def made_by_cruft(answers: dict[str, str]) -> bool:
    """True when cruft, not cookiecutter, is rendering: only cruft puts the template commit in the answers.

    cruft writes .cruft.json itself once the hooks have run, and it renders the template again in a temporary
    folder on every `cruft update`; a repository made there would end up in the diff it applies.
    """
    return "_commit" in answers


def template_folder(repo_dir: str) -> Path | None:
    """The absolute folder of a local template, or None when the template is not a local folder.

    A relative path is relative to where cookiecutter was started, but this hook runs inside the new project.
    cookiecutter runs hooks from within the template folder (`repo_dir`), so its process's working directory
    is that folder (readable on Linux); elsewhere the shell's $PWD is the best guess.
    """
    if Path(repo_dir).is_absolute():
        candidates = [Path(repo_dir)]
    else:
        candidates = [Path(f"/proc/{os.getppid()}/cwd"), Path(os.environ.get("PWD", "")) / repo_dir]
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate.resolve()
    return None


def template_source(given: str, folder: Path | None) -> str:
    """Where cruft fetches the template from: the URL with `gh:`-style abbreviations expanded, or the folder."""
    # Imported here, not at the top: only this step needs cookiecutter (the hook runs in cookiecutter's Python).
    from cookiecutter.config import get_user_config
    from cookiecutter.repository import expand_abbreviations, is_repo_url

    expanded: str = expand_abbreviations(given, get_user_config()["abbreviations"])
    if is_repo_url(expanded) or folder is None:
        return expanded
    return str(folder)


def template_commit(folder: Path | None) -> str | None:
    """The template checkout's HEAD when the folder is the top of a git work tree, else None."""
    if folder is None or shutil.which("git") is None:
        return None

    def rev_parse(*args: str) -> str | None:
        completed = subprocess.run(
            ["git", "rev-parse", *args], cwd=folder, capture_output=True, text=True
        )
        return completed.stdout.strip() if completed.returncode == 0 else None

    top = rev_parse("--show-toplevel")
    # A template folder inside some other repository would need cruft's `directory`: record no commit.
    if top is None or Path(top).resolve() != folder:
        return None
    return rev_parse("HEAD")


def cruft_state(answers: dict[str, str], template: str, commit: str | None) -> dict[str, object]:
    """What `cruft create` would write to .cruft.json for these answers."""
    context: dict[str, str | None] = {
        k: v for k, v in answers.items() if k not in RUN_KEYS and k != "_template"
    }
    context.update(_template=template, _commit=commit)  # last, where cruft puts them
    return {
        "template": template,
        "commit": commit,
        "checkout": None,
        "context": {"cookiecutter": context},
        "directory": None,
    }


def record_template(project: Path, answers: dict[str, str]) -> None:
    """Write .cruft.json, so `cruft check` and `cruft update` work on a project cookiecutter made."""
    # cookiecutter clones a remote template into `_repo_dir`; a local one is `_repo_dir` itself. Older
    # cookiecutters set no `_repo_dir`: the given path is then the best there is.
    folder = template_folder(answers.get("_repo_dir", answers["_template"]))
    state = cruft_state(
        answers, template_source(answers["_template"], folder), template_commit(folder)
    )
    if state["commit"] is None:
        print(
            "note: the template is not a git checkout, so .cruft.json records no commit: "
            "`make template-check` and `make template-update` need one",
            file=sys.stderr,
        )
    # The layout cruft writes (its utils/cruft.py json_dumps).
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": ")) + "\n"
    (project / ".cruft.json").write_text(text, encoding="utf-8")


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
    """Finish the bake in the project folder: prune, record the template, create the repository."""
    # The only Jinja in this file, read only when cookiecutter runs the rendered hook: the answers as JSON.
    answers: dict[str, str] = json.loads(r"""{{ cookiecutter | jsonify }}""")
    project = Path.cwd()
    prune(project, answers)
    if made_by_cruft(answers):
        return 0  # cruft records the template and leaves git to the user (see made_by_cruft)
    record_template(project, answers)  # before git, so the first commit has it
    if answers["init_git"] == "yes":
        try:
            init_git(project, answers)
        except GitError as error:
            print(f"warning: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
