"""Hook tests: bad answers fail before rendering, name the field, and leave nothing behind."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.config import BUILTIN_ABBREVIATIONS

from tests.conftest import TEMPLATE

HOOKS = TEMPLATE / "hooks"

BAD_ANSWERS = [
    ("project_slug", "Tumor Classifier"),
    ("project_slug", "1st-model"),
    ("project_slug", "double--hyphen"),
    ("project_slug", "trailing-"),
    ("package_name", "class"),
    ("package_name", "json"),
    ("package_name", "test"),
    ("package_name", "mlflow"),
    ("package_name", "dvc"),
    ("package_name", "my-package"),
    ("package_name", "9lives"),
    ("author_email", "jane.example.com"),
    ("author_email", "jane@localhost"),
    ("version", "v1.0"),
    ("version", "1.0-beta"),
    ("package_index_url", "ftp://mirror.example.org/simple"),
    ("package_index_url", "mirror.example.org/simple"),
    ("github_owner", "-owner"),
    ("author_name", "   "),
    ("package_index_url", 'https://mirror.example.org/simple"; rm -rf ~'),
    ("package_index_url", "https://mirror.example.org/sim ple"),
    ("project_name", "Tab\tinside"),
    ("description", "Two\u2028lines"),
]


def run_cookiecutter(output: Path, *answers: str) -> subprocess.CompletedProcess[str]:
    """Bake the template without prompts into `output`, with `key=value` answers; capture its output."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            str(TEMPLATE),
            "--no-input",
            "-o",
            str(output),
            *answers,
        ],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(("field", "value"), BAD_ANSWERS, ids=lambda item: str(item))
def test_bad_answer_is_named_and_nothing_is_left(tmp_path: Path, field: str, value: str) -> None:
    """A bad answer exits non-zero, says `<field>: '<value>' is not valid: ...`, and leaves no folder."""
    completed = run_cookiecutter(tmp_path, f"{field}={value}")
    assert completed.returncode != 0
    assert f"{field}: '{value}' is not valid: " in completed.stderr, completed.stderr
    assert "(e.g. '" in completed.stderr, "the message shows a fixed example"
    assert list(tmp_path.iterdir()) == [], "no half-generated project is left behind"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    """Several bad answers give one line each, in prompt order."""
    completed = run_cookiecutter(
        tmp_path, "package_name=import", "version=latest", "author_email=x"
    )
    problems = [line for line in completed.stderr.splitlines() if "is not valid" in line]
    assert [line.split(":")[0] for line in problems] == ["package_name", "author_email", "version"]


def test_suggested_fix_is_itself_valid(tmp_path: Path) -> None:
    """The example in the slug message is accepted when used as the answer."""
    completed = run_cookiecutter(tmp_path, "project_slug=My Great_Model!")
    suggestion = completed.stderr.split("(e.g. '")[1].split("'")[0]
    assert suggestion == "my-great-model"
    assert run_cookiecutter(tmp_path, f"project_slug={suggestion}", "init_git=no").returncode == 0


@pytest.mark.parametrize(
    "answer",
    [
        "version=2.0.0.post1.dev3",
        "package_index_url=http://127.0.0.1:8080/simple/",
        "github_owner=ml-team",
    ],
)
def test_unusual_but_valid_answers_pass(tmp_path: Path, answer: str) -> None:
    """Valid edge cases are not rejected."""
    completed = run_cookiecutter(tmp_path, answer, "init_git=no")
    assert completed.returncode == 0, completed.stderr


def load_hook(name: str) -> ModuleType:
    """A hook as a module: its Jinja sits inside main(), which importing does not run."""
    spec = importlib.util.spec_from_file_location(name, HOOKS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


post_gen = load_hook("post_gen_project")


def test_cruft_state_keeps_answers_and_drops_this_machine() -> None:
    """.cruft.json keeps the answers and the template's own keys, not cookiecutter's run details."""
    answers = {
        "project_name": "Churn Model",
        "_extensions": ["hooks.literals.LiteralsExtension"],
        "_template": "../cookiecutter-mlops",
        "_output_dir": "/home/jane/projects",
        "_repo_dir": "../cookiecutter-mlops",
        "_checkout": None,
    }
    state = post_gen.cruft_state(answers, "/src/cookiecutter-mlops", "abc123")
    assert state == {
        "template": "/src/cookiecutter-mlops",
        "commit": "abc123",
        "checkout": None,
        "context": {
            "cookiecutter": {
                "project_name": "Churn Model",
                "_extensions": ["hooks.literals.LiteralsExtension"],
                "_template": "/src/cookiecutter-mlops",
                "_commit": "abc123",
            }
        },
        "directory": None,
    }


def test_template_source_expands_abbreviations(tmp_path: Path) -> None:
    """`gh:owner/name` is recorded as the URL cookiecutter cloned, which cruft can clone too."""
    expected = BUILTIN_ABBREVIATIONS["gh"].format("acme/cookiecutter-mlops")
    assert post_gen.template_source("gh:acme/cookiecutter-mlops", tmp_path) == expected
    assert post_gen.template_source(".", tmp_path) == str(tmp_path), "a local folder: its path"


def test_template_commit_only_for_the_top_of_a_repository(tmp_path: Path) -> None:
    """The commit is HEAD of the template's own repository; a plain folder or a subfolder has none."""

    def git(*args: str) -> str:
        identity = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
        return subprocess.run(
            ["git", *identity, *args], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert post_gen.template_commit(tmp_path) is None
    git("init", "--quiet")
    git("commit", "--quiet", "--allow-empty", "-m", "A")
    (tmp_path / "sub").mkdir()
    assert post_gen.template_commit(tmp_path.resolve()) == git("rev-parse", "HEAD")
    assert post_gen.template_commit((tmp_path / "sub").resolve()) is None


def test_only_cruft_renders_with_a_commit() -> None:
    """Only cruft puts `_commit` in the answers; cookiecutter does not."""
    assert post_gen.made_by_cruft({"_template": "x", "_commit": "abc123"})
    assert not post_gen.made_by_cruft({"_template": "x", "_output_dir": "/tmp"})


def test_a_failed_git_step_names_its_subcommand(tmp_path: Path) -> None:
    """The post-gen warning says which git subcommand failed, even when git options precede it."""
    with pytest.raises(post_gen.GitError, match=r"^git commit failed: ") as caught:
        post_gen.git(tmp_path, "commit", "-m", "x", options=("-c", "user.name=t"))
    assert "-c" not in str(caught.value).split(":")[0]


def test_the_pre_gen_checks_import_without_cookiecutter() -> None:
    """The pre-gen hook is plain Python: its checks run as functions, one message per bad answer."""
    found = load_hook("pre_gen_project").problems(
        {"project_slug": "Bad Slug", "package_index_url": "http://x/simple'"}
    )
    assert [line.split(":")[0] for line in found][:2] == ["project_name", "project_slug"]
    assert any(line.startswith("package_index_url:") for line in found)


@pytest.mark.parametrize("python", ["3.10", "3.15"])
def test_an_untested_python_is_refused_by_name(tmp_path: Path, python: str) -> None:
    """Cookiecutter refuses a Python outside the choices, naming it; the hook does too, for replayed answers."""
    completed = run_cookiecutter(tmp_path, f"python_version={python}")
    assert completed.returncode != 0
    assert f"{python} provided for choice variable python_version" in completed.stderr
    assert list(tmp_path.iterdir()) == [], "no half-generated project is left behind"
    found = load_hook("pre_gen_project").problems({"python_version": python})
    expected = (
        f"python_version: '{python}' is not valid: one of 3.11, 3.12, 3.13, 3.14 (e.g. '3.11')"
    )
    assert expected in found


def test_python_314_is_offered_and_accepted(tmp_path: Path) -> None:
    """The prompt offers 3.11 to 3.14, the hook's list is the same, and a 3.14 bake renders."""
    context = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert context["python_version"] == ["3.11", "3.12", "3.13", "3.14"]
    assert set(context["__prompts__"]["python_version"]) == {
        "__prompt__",
        *context["python_version"],
    }
    assert tuple(context["python_version"]) == load_hook("pre_gen_project").PYTHON_VERSIONS
    completed = run_cookiecutter(tmp_path, "python_version=3.14", "init_git=no")
    assert completed.returncode == 0, completed.stderr
    pyproject = (tmp_path / "tumor-classifier" / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.14,<3.15"' in pyproject
