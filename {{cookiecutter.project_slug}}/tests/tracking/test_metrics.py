"""Tests for buffered metric logging on a real sqlite store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.tracking.metrics import BufferedMetricLogger


class CountingClient(MlflowClient):
    """The real client, recording the size of every metrics batch it sends."""

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


@pytest.fixture
def counting(tracking_uri: str) -> CountingClient:
    """A counting client of the shared store."""
    return CountingClient(tracking_uri)


def new_run(client: MlflowClient, experiment: str) -> str:
    """The id of a new run in the experiment."""
    return str(client.create_run(experiment).info.run_id)


def test_points_are_batched_at_step_boundaries(experiment: str, counting: CountingClient) -> None:
    """With max_points=10, 3 metrics x 20 steps go out in few batches that never split a step."""
    # Given a logger that flushes once 10 points wait
    run_id = new_run(counting, experiment)
    metrics = BufferedMetricLogger(run_id, counting, max_points=10, flush_interval=3600)

    # When 20 steps of 3 metrics are logged
    for step in range(20):
        metrics.log_many({"a": step, "b": step * 2, "c": step * 3}, step=step)

    # Then each flush happened when a new step began with >= 10 points waiting
    assert counting.batches == [12, 12, 12, 12], "flushes only at step boundaries, >= max_points"
    assert metrics.pending == 12, "the last steps wait for the next boundary or flush()"
    metrics.flush()
    assert sum(counting.batches) == 60, "every point is sent"
    history = counting.get_metric_history(run_id, "c")
    assert [(p.step, p.value) for p in history] == [(s, s * 3.0) for s in range(20)], "history"


def test_a_step_is_never_split(experiment: str, counting: CountingClient) -> None:
    """Many points of one step stay buffered past max_points until the step changes."""
    run_id = new_run(counting, experiment)
    metrics = BufferedMetricLogger(run_id, counting, max_points=5, flush_interval=0)
    for index in range(50):
        metrics.log(f"m{index}", 1.0, step=0)
    assert (counting.batches, metrics.pending) == ([], 50), "flushed inside a step"
    metrics.log("m0", 2.0, step=1)
    assert (counting.batches, metrics.pending) == ([50], 1), "the step goes out whole"


def test_interval_flushes_at_step_boundaries(experiment: str, counting: CountingClient) -> None:
    """With flush_interval=0, every step boundary flushes, however few points wait."""
    run_id = new_run(counting, experiment)
    metrics = BufferedMetricLogger(run_id, counting, max_points=10_000, flush_interval=0)
    for step in range(4):
        metrics.log("loss", 1.0, step=step)
    assert counting.batches == [1, 1, 1], "one flush per step boundary"


def test_large_flush_is_chunked(experiment: str, counting: CountingClient) -> None:
    """More than MLflow's 1000-per-batch limit is sent in several calls, nothing dropped."""
    run_id = new_run(counting, experiment)
    with BufferedMetricLogger(run_id, counting, max_points=10_000) as metrics:
        for step in range(2500):
            metrics.log("loss", 1 / (step + 1), step=step)
    assert counting.batches == [1000, 1000, 500], "chunks of at most 1000"
    assert len(counting.get_metric_history(run_id, "loss")) == 2500, "points lost"


def test_points_survive_a_crash(experiment: str, client: MlflowClient) -> None:
    """An exception inside the `with` block still flushes every logged point."""
    # Given a training loop that logs 2500 points, then crashes
    run_id = new_run(client, experiment)

    def train() -> None:
        with BufferedMetricLogger(run_id, client) as metrics:
            for step in range(2500):
                metrics.log("loss", float(step), step=step)
            raise RuntimeError("training crashed")

    # When it runs, then every point is stored
    with pytest.raises(RuntimeError, match="crashed"):
        train()
    assert len(client.get_metric_history(run_id, "loss")) == 2500, "points lost in the crash"


def test_timestamps_are_taken_when_logged(experiment: str, client: MlflowClient) -> None:
    """Batching does not move points on the time axis; no step means step 0."""
    run_id = new_run(client, experiment)
    metrics = BufferedMetricLogger(run_id, client)
    metrics.log("x", 1.0, step=0, timestamp=1_000)
    metrics.log("x", 2.0, step=1, timestamp=2_000)
    metrics.log_many({"y": 3.0})
    metrics.flush()
    assert metrics.pending == 0, "flush() empties the buffer"
    history = client.get_metric_history(run_id, "x")
    assert [p.timestamp for p in history] == [1_000, 2_000], "timestamps kept"
    assert [p.step for p in client.get_metric_history(run_id, "y")] == [0], "default step"
