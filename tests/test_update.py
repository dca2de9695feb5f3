"""Template-update tests: a bake records its template, and later template commits merge into the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE, Bake, run_make

# Commits in these tests need an identity, whatever git's configuration on the machine.
IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}
# `make -o <stamp>` treats the project's install as done: cruft then runs from this venv, which run_make puts on
# PATH, so the real template-check and template-update targets run without a Poetry install.
INSTALLED = ".venv/.installed"
CRUFT = str(Path(sys.executable).parent / "cruft")
UPDATE_COMMAND = "cruft update --skip-apply-ask --allow-untracked-files"
PARAMS = "{{cookiecutter.project_slug}}/params.yaml"
README = "{{cookiecutter.project_slug}}/README.md"


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity; assert it succeeded and return its output."""
    completed = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **IDENTITY}, capture_output=True, text=True
    )
    assert completed.returncode == 0, f"git {' '.join(args)}: {completed.stderr}"
    return completed.stdout.rstrip()  # not strip(): porcelain lines start with a space


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact line, so a test fails loudly if the template's text moves."""
    text = path.read_text()
    assert text.count(old) == 1, f"{path.name}: expected {old!r} once"
    path.write_text(text.replace(old, new))


def commit_all(repo: Path, message: str) -> str:
    """Commit everything in `repo` and return the new commit."""
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def conflicted(project: Path) -> set[str]:
    """Files where the merge stopped: conflict markers in the file, or a .rej file beside it."""
    marked = {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file()
        and ".git" not in path.relative_to(project).parts
        and "<<<<<<< " in path.read_text(errors="replace")
    }
    rejected = {
        path.relative_to(project).as_posix()[: -len(".rej")] for path in project.rglob("*.rej")
    }
    return marked | rejected


@pytest.fixture
def template_repo(tmp_path: Path) -> Path:
    """The template's working tree as commit A of a repository of its own (never this checkout's .git)."""
    repo = tmp_path / "template"
    # What .gitignore keeps out of the template, and this checkout's own repository.
    ignore = shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".*_cache")
    shutil.copytree(TEMPLATE, repo, ignore=ignore)
    git(repo, "init", "--quiet", "--initial-branch=main")
    commit_all(repo, "A")
    return repo


def bake_from(template: Path, out: Path, **answers: str) -> Path:
    """Bake `template` with cookiecutter into `out`, with these answers; return the project folder."""
    return Path(
        cookiecutter(str(template), no_input=True, extra_context=answers, output_dir=str(out))
    )


def test_bake_records_its_template_in_the_first_commit(template_repo: Path, tmp_path: Path) -> None:
    """A cookiecutter bake writes .cruft.json (template, commit, answers), commits it, and is up to date."""
    project = bake_from(template_repo, tmp_path / "out", project_name="Churn Model")

    state = json.loads((project / ".cruft.json").read_text())
    head = git(template_repo, "rev-parse", "HEAD")
    assert (state["template"], state["commit"]) == (str(template_repo.resolve()), head)
    assert (state["checkout"], state["directory"]) == (None, None)
    answers = state["context"]["cookiecutter"]
    assert (answers["project_name"], answers["project_slug"]) == ("Churn Model", "churn-model")
    assert (answers["_template"], answers["_commit"]) == (state["template"], head)
    assert not {"_output_dir", "_repo_dir", "_checkout"} & answers.keys(), "nothing of this machine"
    assert ".cruft.json" in git(project, "ls-files").splitlines()

    checked = run_make(project, "-o", INSTALLED, "template-check", check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "cruft check" in checked.stdout, "the target runs cruft check"


def test_relative_template_path_is_recorded_absolute(template_repo: Path) -> None:
    """`cookiecutter template` run beside the template records a path cruft can use from the project."""
    completed = subprocess.run(
        [sys.executable, "-m", "cookiecutter", template_repo.name, "--no-input", "-o", "out"],
        cwd=template_repo.parent,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr
    state = json.loads((template_repo.parent / "out/tumor-classifier/.cruft.json").read_text())
    assert state["template"] == str(template_repo.resolve())


def test_cruft_create_records_the_same_state(template_repo: Path, tmp_path: Path) -> None:
    """`cruft create` and cookiecutter record the same .cruft.json; under cruft the hook still prunes."""
    answers = {"publish_to_pypi": "no"}
    create = [CRUFT, "create", str(template_repo), "--no-input", "--output-dir", "cruft"]
    completed = subprocess.run(
        [*create, "--extra-context", json.dumps(answers)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    by_cruft = tmp_path / "cruft/tumor-classifier"
    by_cookiecutter = bake_from(template_repo, tmp_path / "cookiecutter", **answers)

    state = json.loads((by_cruft / ".cruft.json").read_text())
    assert state == json.loads((by_cookiecutter / ".cruft.json").read_text())
    assert not (by_cruft / ".github/workflows/release.yml").exists(), "the hook pruned"
    repository = by_cruft / ".git"
    assert (
        not repository.exists()
    ), "cruft writes .cruft.json after the hook: git is left to the user"


# How the conflict shows depends on whether git has the file as the template wrote it: a committed bake gives
# git the base for a three-way merge (conflict markers in the file); an edit made before the first commit does
# not, so cruft falls back to `git apply --reject` (the template's hunk in a .rej file beside it).
CONFLICT_KINDS = {"bake-committed": "params.yaml", "edited-before-first-commit": "params.yaml.rej"}


@pytest.mark.parametrize("history", CONFLICT_KINDS)
def test_update_merges_template_changes_and_keeps_user_edits(
    template_repo: Path, tmp_path: Path, history: str
) -> None:
    """A later template commit arrives; the user's edit stays; lines both changed are left as a conflict."""
    # Given a bake whose user changed the seed and committed it,
    committed_first = history == "bake-committed"
    project = bake_from(
        template_repo, tmp_path / "out", init_git="yes" if committed_first else "no"
    )
    edit(project / "params.yaml", "seed: 42\n", "seed: 7  # chosen by the user\n")
    if not committed_first:
        git(project, "init", "--quiet")
    commit_all(project, "Use our own seed")
    # and a template commit B that changes the same line and, elsewhere, the README.
    edit(template_repo / PARAMS, "seed: 42\n", "seed: 1234\n")
    with (template_repo / README).open("a") as template_readme:
        template_readme.write("\nA section added to the template in commit B.\n")
    commit_b = commit_all(template_repo, "B")

    checked = run_make(project, "-o", INSTALLED, "template-check", check=False)
    assert checked.returncode != 0, "template-check fails once the template has moved on"
    assert "out of date" in checked.stdout

    # When the project is updated,
    updated = run_make(project, "-o", INSTALLED, "template-update", check=False)

    # then B's README change arrives, and the seed line is a conflict holding both sides,
    assert UPDATE_COMMAND in updated.stdout, "the target runs cruft update, non-interactively"
    readme = (project / "README.md").read_text()
    assert readme.endswith("A section added to the template in commit B.\n"), "B's change arrived"
    assert conflicted(project) == {"params.yaml"}, updated.stdout + updated.stderr
    conflict = (project / CONFLICT_KINDS[history]).read_text()
    assert "seed: 7  # chosen by the user" in (project / "params.yaml").read_text(), "user's side"
    assert "seed: 1234" in conflict, "the template's side is shown"
    # the target says so and fails, and nothing else in the project changed.
    assert updated.returncode != 0
    assert "changed the same lines" in updated.stderr
    assert "params.yaml" in updated.stderr.split("then commit:")[1], "it names the file"
    status = git(project, "status", "--porcelain", "--untracked-files=all")
    changed = {line[3:] for line in status.splitlines()}
    assert changed == {".cruft.json", "README.md", CONFLICT_KINDS[history]}
    assert json.loads((project / ".cruft.json").read_text())["commit"] == commit_b

    rechecked = run_make(project, "-o", INSTALLED, "template-check", check=False)
    assert rechecked.returncode == 0, "the project records commit B: up to date"


def test_update_can_change_an_answer(template_repo: Path, tmp_path: Path) -> None:
    """ANSWERS replays the stored answers with one changed: files of the new answer come and go."""
    project = bake_from(template_repo, tmp_path / "out")
    assert (project / ".github/workflows/release.yml").is_file()

    updated = run_make(
        project, "-o", INSTALLED, "template-update", env={"ANSWERS": '{"publish_to_pypi": "no"}'}
    )

    assert "--variables-to-update" in updated.stdout
    assert not (project / ".github/workflows/release.yml").exists(), "the hook pruned it"
    answers = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert (answers["publish_to_pypi"], answers["project_name"]) == ("no", "Tumor Classifier")


def test_update_without_git_fails_in_one_line(bake: Bake) -> None:
    """template-update in a project without a repository stops at once, before installing, saying why."""
    project = bake(init_git="no")
    completed = run_make(project, "template-update", check=False)
    assert completed.returncode != 0
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, completed.stderr
    assert "git repository" in errors[0]
    assert completed.stdout == "", "nothing ran: no install, no cruft"
