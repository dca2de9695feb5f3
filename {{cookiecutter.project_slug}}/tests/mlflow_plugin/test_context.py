"""Unit tests for the run context provider: tags from a real git repository and dvc.lock."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.mlflow_plugin import context
from {{ cookiecutter.package_name }}.mlflow_plugin.context import PREFIX, ProjectRunContextProvider

DVC_LOCK = """schema: '2.0'
stages:
  prepare:
    cmd: prepare
    deps:
    - path: src/pkg/pipeline/prepare.py
      md5: 1111
    - path: data/raw
      md5: 2222.dir
    outs:
    - path: data/prepared
      md5: 3333.dir
"""


def git(root: Path, *args: str) -> None:
    """Run git with a throwaway identity."""
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(project_dir: Path) -> Path:
    """A project in a git repository with one commit holding dvc.lock and params.yaml."""
    (project_dir / "dvc.lock").write_text(DVC_LOCK)
    (project_dir / "params.yaml").write_text("seed: 1\n")
    git(project_dir, "init", "--quiet", "--initial-branch=main")
    git(project_dir, "add", "--all")
    git(project_dir, "commit", "--quiet", "-m", "first")
    return project_dir


def tags() -> dict[str, str]:
    """The provider's tags, without the namespace prefix."""
    provider = ProjectRunContextProvider()
    assert provider.in_context()
    return {key.removeprefix(PREFIX): value for key, value in provider.tags().items()}


def test_tags_describe_the_commit_and_data(repo: Path) -> None:
    """Commit, branch, clean flag, file hashes and each data hash are tagged, namespaced."""
    found = tags()
    assert len(found["git.commit"]) == 40
    assert found["git.branch"] == "main"
    assert found["git.dirty"] == "false"
    assert len(found["params.sha256"]) == 64
    assert found["data.data/raw"] == "2222.dir"
    assert found["data.data/prepared"] == "3333.dir"
    assert "data.src/pkg/pipeline/prepare.py" not in found, "source files are not data"
    assert found["python"].count(".") == 2
    assert "context_error" not in found
    assert all(key.startswith(PREFIX) for key in ProjectRunContextProvider().tags())


def test_dirty_flag_follows_the_source(repo: Path) -> None:
    """A changed committed file, or a new untracked module, makes the run dirty; stray notes do not."""
    (repo / "notes.txt").write_text("untracked\n")
    assert tags()["git.dirty"] == "false"
    (repo / "src" / "pkg").mkdir(parents=True)
    (repo / "src" / "pkg" / "features.py").write_text("SCALE = 2\n")
    assert tags()["git.dirty"] == "true", "the run imports code that is in no commit"
    (repo / "src" / "pkg" / "features.py").unlink()
    (repo / "params.yaml").write_text("seed: 2\n")
    assert tags()["git.dirty"] == "true"


def test_data_hashes_are_those_the_run_consumes(repo: Path) -> None:
    """Mid-`dvc repro`, the producer's new record wins over the consumer's stale one."""
    stale_train = (
        "  train:\n    cmd: train\n    deps:\n    - path: data/prepared\n      md5: 0000.dir\n"
    )
    (repo / "dvc.lock").write_text(DVC_LOCK + stale_train)
    assert tags()["data.data/prepared"] == "3333.dir"


def test_outside_a_project_it_is_inactive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs started outside any project get no tags from it."""
    monkeypatch.chdir(tmp_path)
    assert not ProjectRunContextProvider().in_context()


def assert_degraded(found: dict[str, str], error: str, caplog: pytest.LogCaptureFixture) -> None:
    """The run got partial tags, a context_error naming the fault, and one warning."""
    assert error in found["context_error"], found
    assert "python" in found, "the tags that could be computed are still there"
    warnings = [record for record in caplog.records if "provenance" in record.getMessage()]
    assert len(warnings) == 1, "exactly one warning per run"


def test_not_a_git_repository(project_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Outside git, the run still gets the other tags and a context_error."""
    (project_dir / "params.yaml").write_text("seed: 1\n")
    found = tags()
    assert_degraded(found, "CalledProcessError", caplog)
    assert "params.sha256" in found


def test_no_git_binary(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Without a git executable on PATH, git tags are skipped with a context_error."""
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    found = tags()
    assert_degraded(found, "FileNotFoundError", caplog)
    assert "params.sha256" in found


def test_corrupt_dvc_lock(repo: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A corrupt dvc.lock is reported, never raised."""
    (repo / "dvc.lock").write_text("stages: [this is: not: valid")
    found = tags()
    assert_degraded(found, "dvc.lock", caplog)
    assert found["git.dirty"] == "true"


def test_unreadable_params(
    repo: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An unreadable params.yaml is reported, never raised."""

    def refuse(path: Path) -> str:
        raise PermissionError(f"[Errno 13] Permission denied: '{path}'")

    monkeypatch.setattr(context, "file_sha256", refuse)
    found = tags()
    assert_degraded(found, "PermissionError", caplog)
    assert "git.commit" in found


def test_runs_of_dvc_experiments_carry_the_experiment_name(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dvc exp run` names its experiment in DVC_EXP_NAME: the run is tagged with it."""
    assert "dvc.experiment" not in tags()
    monkeypatch.setenv("DVC_EXP_NAME", "regal-mart")
    assert tags()["dvc.experiment"] == "regal-mart"
