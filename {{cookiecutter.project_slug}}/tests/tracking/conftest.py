"""Fixtures for the tracking tests: one real sqlite store, a fresh experiment per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sqlite store created once (its migrations take a second)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    return uri


@pytest.fixture
def experiment(tracking_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh experiment in the shared store, MLflow's current one for this test only."""
    # set_experiment() is process-global; undo it so later tests resume runs of other experiments.
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    mlflow.set_tracking_uri(tracking_uri)
    experiment_id = mlflow.create_experiment(
        f"test-{uuid.uuid4().hex}", artifact_location=(tmp_path / "artifacts").as_uri()
    )
    mlflow.set_experiment(experiment_id=experiment_id)
    yield experiment_id
    while mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture
def client(tracking_uri: str) -> MlflowClient:
    """A client of the shared store."""
    return MlflowClient(tracking_uri)
