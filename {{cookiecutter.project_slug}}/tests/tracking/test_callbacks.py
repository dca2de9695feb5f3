"""Tests for the run callbacks: the protocol, loguru logging and threshold alerts."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.tracking import (
    LoguruCallback,
    MetricAlertError,
    RunCallback,
    ThresholdAlertCallback,
    TrackedRun,
    tracked_run,
)


class RecordingCallback(RunCallback):
    """Records every call it gets, in order, into a shared list."""

    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def on_run_start(self, run: TrackedRun) -> None:
        """Record the start."""
        self.calls.append(f"{self.name}:start")

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Record the metric names and step."""
        self.calls.append(f"{self.name}:metrics:{','.join(metrics)}@{step}")

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Record the status."""
        self.calls.append(f"{self.name}:end:{status}")


def test_builtins_satisfy_the_protocol() -> None:
    """The built-in callbacks and a plain class with the three hooks are RunCallbacks."""
    callbacks = [LoguruCallback(), ThresholdAlertCallback({}), RecordingCallback("r", [])]
    assert all(isinstance(callback, RunCallback) for callback in callbacks), "not RunCallbacks"
    assert not isinstance(object(), RunCallback), "an object without hooks is not a RunCallback"


def test_callbacks_are_called_in_order(experiment: str) -> None:
    """Start, each metrics call and the end reach every callback, callbacks in the order given."""
    # Given two recording callbacks
    calls: list[str] = []
    callbacks = [RecordingCallback("a", calls), RecordingCallback("b", calls)]

    # When a run logs two metrics calls
    with tracked_run("ordered", callbacks=callbacks) as run:
        run.log_metrics({"x": 1.0, "y": 2.0}, step=0)
        run.log_metric("x", 3.0)

    # Then every hook was called once per event, a before b
    assert calls == [
        "a:start", "b:start",
        "a:metrics:x,y@0", "b:metrics:x,y@0",
        "a:metrics:x@None", "b:metrics:x@None",
        "a:end:FINISHED", "b:end:FINISHED",
    ], "hooks out of order"  # fmt: skip


def test_callbacks_see_a_failed_run(experiment: str) -> None:
    """on_run_end gets FAILED when the block raises."""
    calls: list[str] = []
    recording = RecordingCallback("a", calls)
    with pytest.raises(ValueError, match="boom"), tracked_run(callbacks=[recording]):
        raise ValueError("boom")
    assert calls == ["a:start", "a:end:FAILED"], "the end hook must see the failure"


def test_loguru_callback_logs_the_run(experiment: str, caplog: pytest.LogCaptureFixture) -> None:
    """It logs the start with the run's name and id, metrics at DEBUG and the end status."""
    with tracked_run("logged", callbacks=[LoguruCallback()]) as run:
        run.log_metrics({"loss": 0.5}, step=3)

    records = [(record.levelname, record.getMessage()) for record in caplog.records]
    started = f"run logged ({run.run_id}) started in experiment {experiment}"
    assert ("INFO", started) in records, f"no start record in {records}"
    assert (
        "DEBUG",
        "run logged step 3: {'loss': 0.5}",
    ) in records, f"no metrics record in {records}"
    assert ("INFO", f"run logged ({run.run_id}) ended FINISHED") in records, "no end record"


def test_loguru_callback_warns_on_failure(
    experiment: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed run's end is logged as a warning."""
    with pytest.raises(RuntimeError), tracked_run("broken", callbacks=[LoguruCallback()]) as run:
        raise RuntimeError("diverged")

    ended = [r for r in caplog.records if r.getMessage().endswith("ended FAILED")]
    assert [r.levelno for r in ended] == [logging.WARNING], f"{run.run_id}: expected one warning"


def test_alert_warns_and_tags(
    experiment: str, client: MlflowClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A final metric below its minimum warns and tags the run, which still finishes."""
    # Given an alert on accuracy >= 0.9 that does not fail
    alert = ThresholdAlertCallback({"accuracy": (0.9, None)})

    # When a step metric and then a final metric are below the minimum
    with tracked_run("alerting", callbacks=[alert]) as run:
        run.log_metrics({"accuracy": 0.1}, step=1)
        run.log_metrics({"accuracy": 0.5, "loss": 9.0})

    # Then only the final value is reported, as a warning and a tag
    stored = client.get_run(run.run_id)
    problem = "accuracy = 0.5 is below the minimum 0.9"
    assert stored.info.status == "FINISHED", "a warning alert must not fail the run"
    assert stored.data.tags["alert.accuracy"] == problem, "the alert tag is missing"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"metric alert: {problem}"], "expected one warning for the final value"


def test_values_within_limits_do_not_alert(experiment: str, client: MlflowClient) -> None:
    """Values inside [min, max] leave the run untagged."""
    alert = ThresholdAlertCallback({"rmse": (0.0, 10.0)}, fail=True)
    with tracked_run("fine", callbacks=[alert]) as run:
        run.log_metrics({"rmse": 10.0})
    stored = client.get_run(run.run_id)
    assert not [tag for tag in stored.data.tags if tag.startswith("alert.")], "unexpected alert"


def test_failing_alert_fails_the_run(experiment: str, client: MlflowClient) -> None:
    """With fail=True, crossing a limit raises MetricAlertError and the run ends FAILED."""
    alert = ThresholdAlertCallback({"rmse": (None, 10.0)}, fail=True)

    with (
        pytest.raises(MetricAlertError, match="rmse = 12 is above the maximum 10") as raised,
        tracked_run("strict", callbacks=[alert]) as run,
    ):
        run.log_metrics({"rmse": 12.0})

    error = raised.value
    assert (error.metric, error.value, error.limit) == ("rmse", 12.0, 10.0), "error details"
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FAILED", "a failing alert must fail the run"
    assert "alert.rmse" in stored.data.tags, "the run is tagged before it fails"
