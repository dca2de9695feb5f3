"""Hook tests: bad answers fail before rendering, name the field, and leave nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE

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
]


def run_cookiecutter(output: Path, *answers: str) -> subprocess.CompletedProcess[str]:
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
