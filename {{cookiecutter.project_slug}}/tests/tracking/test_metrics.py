"""Tests for buffered metric logging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.tracking.metrics import BufferedMetricLogger


class CountingClient(MlflowClient):
    """The real client, counting the batches it sends."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.batches: list[int] = []

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        synchronous: bool | None = None,
    ) -> Any:
        """Count, then send for real."""
        self.batches.append(len(metrics))
        return super().log_batch(run_id, metrics, params, tags, synchronous)


def test_points_are_batched_at_step_boundaries(experiment: str, tracking_uri: str) -> None:
    """With max_points=10, 3 metrics x 20 steps go out in few batches that never split a step."""
    client = CountingClient(tracking_uri)
    run = client.create_run(experiment)
    metrics = BufferedMetricLogger(run.info.run_id, client, max_points=10, flush_interval=3600)
    for step in range(20):
        metrics.log_many({"a": step, "b": step * 2, "c": step * 3}, step=step)
    assert metrics.pending > 0, "the last steps wait for the next boundary"
    metrics.flush()
    assert sum(client.batches) == 60
    assert all(size % 3 == 0 for size in client.batches), "a step's points travel together"
    assert len(client.batches) < 10
    history = client.get_metric_history(run.info.run_id, "c")
    assert [(p.step, p.value) for p in history] == [(s, s * 3.0) for s in range(20)]


def test_large_flush_is_chunked(experiment: str, client: MlflowClient) -> None:
    """More than MLflow's 1000-per-batch limit is sent in several calls, nothing dropped."""
    run = client.create_run(experiment)
    with BufferedMetricLogger(run.info.run_id, client, max_points=10_000) as metrics:
        for step in range(2500):
            metrics.log("loss", 1 / (step + 1), step=step)
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 2500


def test_points_survive_a_crash(experiment: str, client: MlflowClient) -> None:
    """An exception inside the `with` block still flushes every logged point."""
    run = client.create_run(experiment)

    def crash() -> None:
        with BufferedMetricLogger(run.info.run_id, client) as metrics:
            for step in range(1500):
                metrics.log("loss", float(step), step=step)
            raise RuntimeError("training crashed")

    with pytest.raises(RuntimeError):
        crash()
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 1500


def test_timestamps_are_taken_when_logged(experiment: str, client: MlflowClient) -> None:
    """Batching does not move points on the time axis."""
    run = client.create_run(experiment)
    metrics = BufferedMetricLogger(run.info.run_id, client)
    metrics.log("x", 1.0, step=0, timestamp=1_000)
    metrics.log("x", 2.0, step=1, timestamp=2_000)
    metrics.flush()
    assert [p.timestamp for p in client.get_metric_history(run.info.run_id, "x")] == [1_000, 2_000]
    assert mlflow.active_run() is None
