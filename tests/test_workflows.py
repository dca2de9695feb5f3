"""The generated GitHub configuration: schema-valid, safe, and calling make targets only."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TEMPLATE, Bake

SCHEMAS = {"workflows": "vendor.github-workflows", "dependabot.yml": "vendor.dependabot"}
UNTRUSTED = re.compile(r"\$\{\{[^}]*(github\.event|github\.head_ref|inputs\.)")
SETUP_COMMAND = re.compile(r"^pipx install ")


def validate(schema: str, *files: Path) -> None:
    """Validate files against a schema vendored in check-jsonschema (offline)."""
    checker = Path(sys.executable).parent / "check-jsonschema"
    completed = subprocess.run(
        [checker, "--builtin-schema", schema, *files], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def load(path: Path) -> dict[Any, Any]:
    """A workflow with YAML 1.1's `on: -> True` key put back."""
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def run_steps(workflow: dict[Any, Any]) -> list[str]:
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


@pytest.mark.parametrize(
    ("python_version", "publish", "matrix"),
    [
        ("3.11", "yes", ["3.11", "3.13"]),
        ("3.13", "no", ["3.13"]),
        ("3.12", "yes", ["3.12", "3.13"]),
    ],
)
def test_generated_workflows(
    bake: Bake, python_version: str, publish: str, matrix: list[str]
) -> None:
    """Every workflow validates, reads only contents, runs make targets, and keeps ${{ }} intact."""
    project = bake(python_version=python_version, publish_to_pypi=publish)
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    assert [path.name for path in workflows] == (
        ["ci.yml", "release.yml"] if publish == "yes" else ["ci.yml"]
    )
    validate(SCHEMAS["workflows"], *workflows)
    validate(SCHEMAS["dependabot.yml"], project / ".github/dependabot.yml")
    for path in workflows:
        text = path.read_text()
        workflow = load(path)
        assert workflow["permissions"] == {"contents": "read"}, path.name
        assert workflow["env"]["MLFLOW_DISABLE_TELEMETRY"] == "true"
        for command in run_steps(workflow):
            assert command.startswith("make ") or SETUP_COMMAND.match(command), command
            assert "${{" not in command, f"{path.name}: expression inside run: {command}"
        assert not UNTRUSTED.search(text), path.name
    ci = load(project / ".github/workflows/ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert ci["jobs"]["checks"]["strategy"]["matrix"]["python-version"] == matrix
    assert "${{ matrix.python-version }}" in (project / ".github/workflows/ci.yml").read_text()
    commands = " ".join(run_steps(ci))
    for target in (
        "make install",
        "make lint",
        "make typecheck",
        "make test",
        "make pipeline-check",
    ):
        assert target in commands, target


def test_release_publishes_with_trusted_publishing_only(bake: Bake) -> None:
    """Tags trigger the release; only the publish jobs may mint an OIDC token, each in an environment."""
    release = load(bake(publish_to_pypi="yes") / ".github/workflows/release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    for name, job in release["jobs"].items():
        publishes = any("pypi-publish" in step.get("uses", "") for step in job["steps"])
        assert (job.get("permissions") == {"id-token": "write"}) == publishes, name
        if publishes:
            assert job["environment"] in ("testpypi", "pypi")
    assert release["jobs"]["pypi"]["needs"] == "testpypi", "TestPyPI rehearses first"
    assert 'make tag-check TAG="$GITHUB_REF_NAME"' in run_steps(release)


def test_actions_are_pinned(bake: Bake) -> None:
    """Every action is pinned to a version, never a branch."""
    project = bake()
    for path in (project / ".github/workflows").glob("*.yml"):
        for use in re.findall(r"uses: (\S+)", path.read_text()):
            assert re.search(r"@v\d+\.\d+\.\d+$", use), f"{path.name}: {use}"


def test_template_ci_runs_the_readme_commands() -> None:
    """The template's own CI validates and calls make test."""
    ci = TEMPLATE / ".github/workflows/ci.yml"
    validate(SCHEMAS["workflows"], ci)
    commands = " ".join(run_steps(load(ci)))
    assert "make test" in commands
