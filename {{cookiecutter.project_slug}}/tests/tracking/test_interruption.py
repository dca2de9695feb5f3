"""Tests for a run cut off from its tracking server: its spool folder, its quiet end, what the user is told."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow.entities import Param

from {{ cookiecutter.package_name }}.errors import ProjectError
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.interruption import (
    TrackingInterruptedError,
    interrupted,
    quick_requests,
    spool_folder,
)
from {{ cookiecutter.package_name }}.tracking.spool import Spool

RETRIES = "MLFLOW_HTTP_REQUEST_MAX_RETRIES"
TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT"


def test_the_spool_folder_is_in_the_projects_mlflow_folder(settings: Settings) -> None:
    """A project's runs spool into its MLflow folder."""
    assert spool_folder() == settings.mlflow_dir / "spool"


def test_broken_settings_still_give_a_spool_folder(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settings that do not load never lose a run's records: they go to `.mlflow/spool` here."""
    monkeypatch.setenv(f"{ENV_PREFIX}SERVE_WORKERS", "many")

    assert spool_folder() == (project_dir / ".mlflow" / "spool").resolve()


def test_quick_requests_last_only_for_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside the block MLflow tries once, briefly; after it, the caller's own values are back (or unset)."""
    monkeypatch.setenv(RETRIES, "7")
    monkeypatch.delenv(TIMEOUT, raising=False)

    seen: dict[str, str] = {}

    def end_request() -> None:
        with quick_requests():
            seen.update({name: os.environ[name] for name in (RETRIES, TIMEOUT)})
            raise RuntimeError("the end request failed")

    with pytest.raises(RuntimeError, match="end request failed"):
        end_request()

    assert seen == {RETRIES: "0", TIMEOUT: "3"}, "one attempt, three seconds, inside the block"
    assert os.environ[RETRIES] == "7", "the caller's value is restored"
    assert TIMEOUT not in os.environ, "a variable the caller had not set is removed again"


def test_the_interrupted_error_says_where_the_records_are_and_what_to_run(tmp_path: Path) -> None:
    """The error names the run, how many records wait in which file, and `make tracking-sync`."""
    spool = Spool(tmp_path, "0" * 32)
    spool.write(params=[Param("depth", "3")])
    spool.end("FINISHED")

    error = interrupted(spool)

    assert isinstance(error, TrackingInterruptedError)
    assert isinstance(error, ProjectError), "the command line shows it as one line"
    message = str(error)
    assert f"run {'0' * 32} was interrupted" in message
    assert f"2 records of the run are spooled in {spool.path}" in message
    assert "make tracking-sync" in message
