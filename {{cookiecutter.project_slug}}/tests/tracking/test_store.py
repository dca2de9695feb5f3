"""Tests for the store owner: one tracking URI per process, the experiment it creates, a store that moves."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

import mlflow
import pytest

from {{ cookiecutter.package_name }}.names import ARTIFACT_SCHEME, DISTRIBUTION
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.store import connect, project_experiment_id, write_ahead_log


def project_at(folder: Path) -> Settings:
    """Settings of a project living in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    return Settings(_env_file=None, project_root=folder)


@pytest.fixture(autouse=True)
def _reset_tracking_uri() -> object:
    """connect() points this process's MLflow somewhere: point it back afterwards."""
    yield
    mlflow.set_tracking_uri("")


def test_the_project_experiment_opens_on_runs_and_names_artifacts_relatively(
    tmp_path: Path,
) -> None:
    """The experiment is tagged for classical models and its artifacts use the project's scheme."""
    settings = project_at(tmp_path / "project")
    client = connect(settings)
    experiment = client.get_experiment(project_experiment_id(settings, client))
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    assert experiment.artifact_location == f"{ARTIFACT_SCHEME}:/"
    assert mlflow.get_tracking_uri() == settings.resolved_tracking_uri, "the URI applied once, here"


def test_a_moved_project_keeps_its_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `mv project elsewhere`, a run's artifacts load from the new folder; the old one is gone."""
    before = project_at(tmp_path / "before")
    client = connect(before)
    with mlflow.start_run(experiment_id=project_experiment_id(before, client)) as run:
        mlflow.log_text("kept", "notes/readme.txt")
    monkeypatch.chdir(tmp_path)
    shutil.move(before.project_root, tmp_path / "after")
    after = project_at(tmp_path / "after")
    monkeypatch.chdir(after.project_root)
    client = connect(after)
    artifact_uri = client.get_run(run.info.run_id).info.artifact_uri
    assert artifact_uri.startswith(f"{ARTIFACT_SCHEME}:/"), "no absolute path recorded"
    text = mlflow.artifacts.load_text(f"{artifact_uri}/notes/readme.txt")
    assert text == "kept"
    assert not (tmp_path / "before").exists()


def test_the_embedded_store_runs_in_wal_mode(tmp_path: Path) -> None:
    """A store connect() creates is in SQLite's WAL mode, and stays so for the next process."""
    settings = project_at(tmp_path / "project")
    connect(settings).search_experiments()
    database = settings.mlflow_dir / "mlflow.db"
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_store_that_is_no_database_is_left_as_it_is(tmp_path: Path) -> None:
    """WAL mode is not forced on a broken file: its bytes stay for the one-line error to name."""
    settings = project_at(tmp_path / "project")
    settings.mlflow_dir.mkdir(parents=True)
    database = settings.mlflow_dir / "mlflow.db"
    database.write_bytes(b"not a database" * 100)
    write_ahead_log(database)
    assert database.read_bytes() == b"not a database" * 100
