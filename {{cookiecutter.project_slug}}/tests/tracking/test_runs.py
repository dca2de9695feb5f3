"""Tests for tracked_run, @tracked and the callbacks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow
import pytest
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.tracking import (
    LoguruCallback,
    MetricAlertError,
    RunCallback,
    ThresholdAlertCallback,
    TrackedRun,
    current_run,
    flatten_params,
    tracked,
    tracked_run,
)


class RecordingCallback:
    """Records every call it gets, in order."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def on_run_start(self, run: TrackedRun) -> None:
        """Record the start."""
        self.calls.append(f"{self.name}:start")

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Record the metric names."""
        self.calls.append(f"{self.name}:metrics:{','.join(metrics)}")

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Record the status."""
        self.calls.append(f"{self.name}:end:{status}")


def test_finished_run_has_params_and_metrics(experiment: str, client: MlflowClient) -> None:
    """A clean block ends FINISHED with flattened params and every buffered point."""
    with tracked_run("clean", params={"model": {"depth": 3}, "seed": 1}) as run:
        for step in range(50):
            run.log_metric("loss", 1 / (step + 1), step=step)
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"model.depth": "3", "seed": "1"}
    assert len(client.get_metric_history(run.run_id, "loss")) == 50


def test_exception_marks_the_run_failed(experiment: str, client: MlflowClient) -> None:
    """An exception ends the run FAILED (never RUNNING), flushes its points and is re-raised."""
    started: list[TrackedRun] = []

    def crash() -> None:
        with tracked_run("crash") as run:
            started.append(run)
            run.log_metrics({"loss": 3.0}, step=0)
            raise ValueError("diverged")

    with pytest.raises(ValueError, match="diverged"):
        crash()
    assert client.get_run(started[0].run_id).info.status == "FAILED"
    assert len(client.get_metric_history(started[0].run_id, "loss")) == 1
    assert mlflow.active_run() is None


def test_interrupt_marks_the_run_killed(experiment: str, client: MlflowClient) -> None:
    """Ctrl+C ends the run KILLED."""
    with pytest.raises(KeyboardInterrupt), tracked_run("interrupted") as run:
        raise KeyboardInterrupt
    assert client.get_run(run.run_id).info.status == "KILLED"


def test_callbacks_are_called_in_order(experiment: str) -> None:
    """Start, metrics and end reach each callback, callbacks in the order given."""
    calls: list[str] = []
    callbacks: list[RunCallback] = [
        RecordingCallback("a", calls),
        RecordingCallback("b", calls),
        LoguruCallback(),
    ]
    assert all(isinstance(callback, RunCallback) for callback in callbacks)
    with tracked_run("ordered", callbacks=callbacks) as run:
        run.log_metrics({"x": 1.0})
    assert calls == [
        "a:start", "b:start", "a:metrics:x", "b:metrics:x", "a:end:FINISHED", "b:end:FINISHED",
    ]  # fmt: skip


def test_a_failing_end_callback_still_ends_the_run(experiment: str, client: MlflowClient) -> None:
    """A callback that raises at the end does not leave the run open."""

    class Broken(RecordingCallback):
        def on_run_end(self, run: TrackedRun, status: str) -> None:
            raise RuntimeError("broken callback")

    with tracked_run("broken", callbacks=[Broken("x", [])]) as run:
        pass
    assert client.get_run(run.run_id).info.status == "FINISHED"


def test_alert_warns_and_tags(experiment: str, client: MlflowClient) -> None:
    """A final metric below its minimum tags the run; step metrics are not checked."""
    alert = ThresholdAlertCallback.from_params(dict(limits=dict(accuracy=dict(min=0.9))))
    with tracked_run("alerting", callbacks=[alert]) as run:
        run.log_metrics({"accuracy": 0.1}, step=1)
        run.log_metrics({"accuracy": 0.5})
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.tags["alert.accuracy"] == "= 0.5 is below the minimum 0.9"


def test_failing_alert_fails_the_run(experiment: str, client: MlflowClient) -> None:
    """With fail=True, crossing a limit raises MetricAlertError and the run ends FAILED."""
    alert = ThresholdAlertCallback({"rmse": (None, 10.0)}, fail=True)
    with (
        pytest.raises(MetricAlertError, match="rmse"),
        tracked_run("strict", callbacks=[alert]) as run,
    ):
        run.log_metrics({"rmse": 12.0})
    assert client.get_run(run.run_id).info.status == "FAILED"


def test_nested_runs(experiment: str, client: MlflowClient) -> None:
    """A nested tracked run is a child of the outer one; current_run() is the innermost."""
    with tracked_run("parent") as parent:
        with tracked_run("child", nested=True) as child:
            assert current_run() is child
        assert current_run() is parent
    stored = client.get_run(child.run_id)
    assert stored.data.tags["mlflow.parentRunId"] == parent.run_id
    assert client.get_run(parent.run_id).info.status == "FINISHED"
    with pytest.raises(RuntimeError, match="no tracked run"):
        current_run()


def test_resume_by_run_id(experiment: str, client: MlflowClient) -> None:
    """run_id= continues an earlier run instead of starting a new one."""
    with tracked_run("first") as run:
        run.log_metric("a", 1.0)
    with tracked_run(run_id=run.run_id) as resumed:
        resumed.log_metric("b", 2.0)
    assert resumed.run_id == run.run_id
    assert set(client.get_run(run.run_id).data.metrics) == {"a", "b"}


class Config(BaseModel):
    """A config object passed to a decorated function."""

    depth: int = 3


def test_decorator_logs_arguments_and_returns(experiment: str, client: MlflowClient) -> None:
    """@tracked runs the function in a run, logs its simple arguments, and returns its value."""
    seen: dict[str, Any] = {}

    @tracked("decorated")
    def fit(alpha: float, config: Config, data: object = None) -> float:
        seen["run"] = current_run()
        current_run().log_metric("score", alpha * 2)
        return alpha * 2

    assert fit(0.5, Config(), data=object()) == 1.0
    stored = client.get_run(seen["run"].run_id)
    assert stored.data.params == {"alpha": "0.5", "config.depth": "3"}
    assert stored.data.metrics == {"score": 1.0}
    assert stored.info.run_name == "decorated"


def test_flatten_params() -> None:
    """Nested mappings and models become dotted keys; long values are cut to MLflow's limit."""
    flat = flatten_params(dict(a=dict(b=dict(c=1)), m=Config(), l=[1, 2], long="x" * 7000))
    assert flat["a.b.c"] == "1"
    assert flat["m.depth"] == "3"
    assert flat["l"] == "[1, 2]"
    assert len(flat["long"]) == 6000
