"""The GitHub configuration, generated and the template's own: schema-valid, safe, make-driven."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TEMPLATE, Bake

GENERATED = TEMPLATE / "{{cookiecutter.project_slug}}" / ".github"
TEMPLATE_CI = TEMPLATE / ".github/workflows/ci.yml"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
# Attacker-controlled text (branch names, PR titles, dispatch inputs) must never reach a shell.
UNTRUSTED = re.compile(r"github\.event\.|github\.head_ref|inputs\.")
SETUP_COMMANDS = ("pipx install ", "pipx inject ")  # the only non-make commands: installing tools
# The template's full suite runs as CI here does: `.ci/run` (which installs the tools, then runs `make test`), as
# root, for debootstrap and chroot.
CI_ENTRY = (
    'sudo git config --global --add safe.directory "$GITHUB_WORKSPACE"\n'
    'sudo env "PATH=$PATH" CI=true bash .ci/run\n'
)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")  # a full commit SHA: a tag can be moved
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
PYTHONS: list[str] = json.loads((TEMPLATE / "cookiecutter.json").read_text())["python_version"]
ANSWERS = [(python, publish) for python in PYTHONS for publish in ("yes", "no")]


def validate(schema: str, *files: Path) -> None:
    """Validate files against a schema vendored in check-jsonschema (offline)."""
    checker = Path(sys.executable).parent / "check-jsonschema"
    completed = subprocess.run(
        [checker, "--builtin-schema", schema, *files], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def load(path: Path) -> dict[Any, Any]:
    """A workflow, with the `on` key that YAML 1.1 reads as True put back."""
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text())
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (job name, step) of a workflow."""
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            yield name, step


def commands(workflow: dict[Any, Any], job: str | None = None) -> list[str]:
    """The `run:` commands of a workflow, or of one of its jobs."""
    return [step["run"] for name, step in steps(workflow) if "run" in step and job in (None, name)]


def is_guard(step: dict[str, Any]) -> bool:
    """A conditional step that only explains a missing setting and fails."""
    lines = step["run"].strip().splitlines()
    explains = all(line.startswith("echo ") for line in lines[:-1])
    return "if" in step and lines[-1] == "exit 1" and explains


def workflows(project: Path) -> list[Path]:
    """The project's GitHub workflow files, sorted."""
    return sorted((project / ".github/workflows").glob("*.yml"))


@pytest.mark.parametrize(("python_version", "publish"), ANSWERS)
def test_generated_files_validate(bake: Bake, python_version: str, publish: str) -> None:
    """Each bake has CI, a release only when publishing, all valid for GitHub and Dependabot."""
    project = bake(python_version=python_version, publish_to_pypi=publish)
    names = [path.name for path in workflows(project)]
    expected = (
        ["ci.yml", "monitor.yml", "release.yml"] if publish == "yes" else ["ci.yml", "monitor.yml"]
    )
    assert names == expected, names
    validate("vendor.github-workflows", *workflows(project))
    validate("vendor.dependabot", project / ".github/dependabot.yml")
    for path in workflows(project):
        workflow = load(path)
        assert workflow["permissions"] == {"contents": "read"}, f"{path.name}: read-only token"
        for name, job in workflow["jobs"].items():
            signs = any(
                uses.startswith(
                    ("pypa/gh-action-pypi-publish@", "actions/attest-build-provenance@")
                )
                for uses in (step.get("uses", "") for step in job["steps"])
            )
            mints = "id-token" in job.get("permissions", {})
            assert (
                mints == signs
            ), f"{path.name}/{name}: id-token only where it publishes or attests"
    if publish == "no":
        text = (project / ".github/workflows/ci.yml").read_text()
        assert "pypi-publish" not in text, "no publishing bits left"
        minting = [
            n
            for n, job in load(project / ".github/workflows/ci.yml")["jobs"].items()
            if "permissions" in job
        ]
        assert minting == ["image-publish"], "only the opt-in image job has more than read access"


@pytest.mark.parametrize(
    ("python_version", "matrix"),
    [
        ("3.11", ["3.11", "3.14"]),
        ("3.12", ["3.12", "3.14"]),
        ("3.13", ["3.13", "3.14"]),
        ("3.14", ["3.14"]),
    ],
)
def test_ci_runs_the_make_targets(bake: Bake, python_version: str, matrix: list[str]) -> None:
    """CI runs on push and PR, reads only, cancels superseded runs, calls make on each Python."""
    ci = load(bake(python_version=python_version) / ".github/workflows/ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert ci["env"] == {
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DVC_NO_ANALYTICS": "1",
        "POETRY_VIRTUALENVS_IN_PROJECT": "true",
    }
    assert ci["jobs"]["checks"]["strategy"]["matrix"]["python-version"] == matrix
    assert matrix[-1] == PYTHONS[-1], "the newest Python the prompt offers"
    assert commands(ci, "checks")[-4:] == [
        "make install",
        "make lint",
        "make typecheck",
        "make test",
    ]
    assert commands(ci, "pipeline")[-2:] == ["make install", "make pipeline-check"]
    assert commands(ci, "audit")[-2:] == ["make install", "make audit"]
    assert "pipx inject" not in str(ci), "Poetry installs the export plugin pyproject.toml requires"
    assert commands(ci, "image")[-3:] == ["make train", "make deploy", "make image"]
    assert commands(ci, "serving")[-4:] == [
        "make train",
        "make deploy",
        "make serve-check",
        "make undeploy",
    ], "the serving gate runs on the deployed champion, and the server is always stopped"
    assert (
        next(s for n, s in steps(ci) if n == "serving" and s.get("run") == "make undeploy")["if"]
        == "always()"
    )
    for name, job in ci["jobs"].items():
        caches = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
        assert [cache["with"]["path"] for cache in caches] == ["~/.cache/pypoetry"], name
        assert "hashFiles('poetry.lock'" in caches[0]["with"]["key"], f"{name}: keyed on the lock"


@pytest.mark.parametrize("python_version", ["3.11", "3.14"])
def test_every_run_step_calls_make_and_no_expression(bake: Bake, python_version: str) -> None:
    """Jobs only install Poetry and call make; no ${{ }} is spliced into a shell command."""
    project = bake(python_version=python_version, publish_to_pypi="yes")
    for path in [*workflows(project), TEMPLATE_CI]:
        for job, step in steps(load(path)):
            if "run" not in step:
                continue
            command = step["run"]
            where = f"{path.name}/{job}: {command!r}"
            assert "${{" not in command, f"{where}: pass expressions through env: instead"
            calls_make = command.startswith(("make ", *SETUP_COMMANDS)) or command == CI_ENTRY
            assert calls_make or is_guard(step), where
        text = path.read_text()
        for expression in EXPRESSION.findall(text):
            assert not UNTRUSTED.search(expression), f"{path.name}: untrusted {expression}"


@pytest.mark.parametrize("publish", ["yes", "no"])
def test_github_expressions_survive_rendering(bake: Bake, publish: str) -> None:
    """Every ${{ ... }} of the template's workflows comes out of Jinja exactly as written."""
    project = bake(python_version="3.12", publish_to_pypi=publish)
    for rendered in workflows(project):
        source = (GENERATED / "workflows" / rendered.name).read_text()
        expected = EXPRESSION.findall(source)
        assert expected, f"{rendered.name}: the check needs expressions to compare"
        assert EXPRESSION.findall(rendered.read_text()) == expected, rendered.name
    ci = (project / ".github/workflows/ci.yml").read_text()
    assert "python-version: ${{ matrix.python-version }}" in ci
    assert "key: poetry-${{ runner.os }}-py3.12-${{ hashFiles('poetry.lock'" in ci


def test_release_publishes_with_trusted_publishing_only(bake: Bake) -> None:
    """A v* tag builds once after checking the version, then TestPyPI, then PyPI through OIDC."""
    release = load(bake(publish_to_pypi="yes") / ".github/workflows/release.yml")
    assert release["on"] == {"push": {"tags": ["v*"]}}
    assert release["permissions"] == {"contents": "read"}
    assert release["concurrency"]["cancel-in-progress"] is False, "never cancel a release midway"
    assert commands(release, "build")[-2:] == [
        'make tag-check TAG="$GITHUB_REF_NAME"',
        "make release-check",
    ]
    jobs = release["jobs"]
    needs = {name: job.get("needs") for name, job in jobs.items()}
    assert needs == {
        "build": None,
        "attest": "build",
        "testpypi": "attest",
        "pypi": "testpypi",
        "model-card": None,
        "github-release": ["pypi", "model-card"],
    }, "nothing is published unattested; the GitHub release only after PyPI"
    for name, job in jobs.items():
        uses = [step.get("uses", "") for step in job["steps"]]
        publishes = any(use.startswith("pypa/gh-action-pypi-publish@") for use in uses)
        assert (job.get("permissions") == {"id-token": "write"}) == publishes, name
        assert job.get("environment") == (name if publishes else None), name
        checks_out = any(use.startswith("actions/checkout@") for use in uses)
        assert checks_out == (
            name in ("build", "model-card")
        ), f"{name}: only the build and the card's training check out and run code"
    rehearsal = next(
        s for _, s in steps(release) if "pypi-publish" in s.get("uses", "") and "with" in s
    )
    assert rehearsal["with"]["repository-url"] == "${{ vars.TESTPYPI_UPLOAD_URL }}"
    guard = jobs["testpypi"]["steps"][0]
    assert is_guard(guard), "an unset URL must stop the rehearsal, not fall back to PyPI"
    assert "TESTPYPI_UPLOAD_URL" in guard["if"]
    pypi_steps = jobs["pypi"]["steps"]
    assert "with" not in pypi_steps[-1], "PyPI is the action's default; no URL written anywhere"


@pytest.mark.parametrize("publish", ["yes", "no"])
def test_actions_are_pinned(bake: Bake, publish: str) -> None:
    """Every action, generated or the template's own, is pinned to a commit SHA, its version beside it."""
    project = bake(publish_to_pypi=publish)
    for path in [*workflows(project), TEMPLATE_CI]:
        for _, step in steps(load(path)):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{path.name}: {step['uses']} is not pinned"
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert VERSION_COMMENT.search(line), f"{path.name}: no version comment: {line}"


def test_the_drift_check_is_scheduled_but_off_until_enabled(bake: Bake) -> None:
    """The monitor workflow runs daily and by hand, only where MONITOR_ENABLED is set; it may open issues."""
    monitor = load(bake() / ".github/workflows/monitor.yml")
    assert set(monitor["on"]) == {"schedule", "workflow_dispatch"}
    job = monitor["jobs"]["drift"]
    assert job["if"] == "vars.MONITOR_ENABLED == 'true'"
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    assert commands(monitor, "drift")[-3:] == ["make data", "make monitor", "make drift-issue"]
    check = next(step for step in job["steps"] if step.get("run") == "make monitor")
    assert check["continue-on-error"] is True


def test_dependabot_updates_python_and_actions_weekly(bake: Bake) -> None:
    """Dependabot watches the Poetry dependencies and the pinned actions, weekly."""
    config = yaml.safe_load((bake() / ".github/dependabot.yml").read_text())
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert set(updates) == {"pip", "github-actions"}
    assert {update["schedule"]["interval"] for update in updates.values()} == {"weekly"}


def test_template_ci_runs_the_readme_commands() -> None:
    """The template's CI validates; fast tests on every push and PR, `make test` on main."""
    validate("vendor.github-workflows", TEMPLATE_CI)
    ci = load(TEMPLATE_CI)
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    assert ci["concurrency"]["cancel-in-progress"] is True
    assert ci["env"]["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert commands(ci, "bake") == ["make lint", "make test-fast"]
    assert "if" not in ci["jobs"]["bake"], "the fast tests run on every push and pull request"
    oldest_and_newest = [PYTHONS[0], PYTHONS[-1]]
    assert ci["jobs"]["bake"]["strategy"]["matrix"]["python-version"] == oldest_and_newest
    assert commands(ci, "end-to-end") == [CI_ENTRY]
    assert "make test\n" in (TEMPLATE / ".ci/run").read_text()
    condition = ci["jobs"]["end-to-end"]["if"]
    assert "github.event_name == 'push'" in condition
    assert "github.ref == 'refs/heads/main'" in condition


def test_the_opt_in_image_job_pushes_then_attests_the_digest(bake: Bake) -> None:
    """Off unless vars.IMAGE_PUSH; on main only, after the image job; the digest make image-push gave is attested."""
    ci = load(bake(publish_to_pypi="no", github_owner="Some-Owner") / ".github/workflows/ci.yml")
    job = ci["jobs"]["image-publish"]
    assert job["needs"] == "image"
    assert job["if"] == (
        "vars.IMAGE_PUSH == 'true' && github.event_name == 'push' && github.ref == 'refs/heads/main'"
    )
    assert job["permissions"] == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    assert commands(ci, "image-publish")[-4:] == [
        "make train",
        "make deploy",
        "make image",
        "make image-push",
    ]
    push = next(step for step in job["steps"] if step.get("run") == "make image-push")
    assert push["env"] == {
        "IMAGE_REPOSITORY": "ghcr.io/some-owner/tumor-classifier",
        "REGISTRY_USER": "${{ github.actor }}",
        "REGISTRY_TOKEN": "${{ secrets.GITHUB_TOKEN }}",
    }, "the token through env, never in the command"
    attest = job["steps"][-1]
    assert attest["uses"].startswith("actions/attest-build-provenance@")
    assert attest["with"] == {
        "subject-name": push["env"]["IMAGE_REPOSITORY"],
        "subject-digest": f"${{{{ steps.{push['id']}.outputs.digest }}}}",
        "push-to-registry": True,
    }


def test_release_attests_and_attaches_the_sbom(bake: Bake) -> None:
    """The wheel and sdist are attested with least permissions; the SBOM and model card reach the release."""
    release = load(bake(publish_to_pypi="yes") / ".github/workflows/release.yml")
    jobs = release["jobs"]
    attest = jobs["attest"]
    assert attest["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "attestations": "write",
    }
    subject = next(
        step["with"]["subject-path"]
        for step in attest["steps"]
        if step.get("uses", "").startswith("actions/attest-build-provenance@")
    )
    assert subject.split() == ["dist/*.whl", "dist/*.tar.gz"]
    uploads = [s["with"] for s in jobs["build"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert {"name": "sbom", "path": "dist/sbom.cdx.json", "if-no-files-found": "error"} in uploads
    assert "sbom" not in next(
        u["path"] for u in uploads if u["name"] == "dist"
    ), "PyPI takes no SBOM"
    github = jobs["github-release"]
    assert github["permissions"] == {"contents": "write"}
    files = github["steps"][-1]["with"]["files"].split()
    assert github["steps"][-1]["uses"].startswith("softprops/action-gh-release@")
    assert files == ["dist/*.whl", "dist/*.tar.gz", "dist/sbom.cdx.json", "dist/model-card.md"]
    assert commands(release, "model-card")[-2:] == [
        "make train",
        "make model-card VERSION=1 CARD=dist/model-card.md",
    ]
    others = [job for name, job in jobs.items() if name not in ("attest", "github-release")]
    assert all("attestations" not in job.get("permissions", {}) for job in others)
    assert all(job.get("permissions", {}).get("contents") != "write" for job in others)
