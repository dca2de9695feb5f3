"""Tests for tracked_run, @tracked and current_run on a real sqlite store."""

from __future__ import annotations

import signal
import subprocess
import sys

import mlflow
import pytest
from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.tracking import (
    MetricFlushError,
    RunCallback,
    TrackedRun,
    current_run,
    tracked,
    tracked_run,
)


class Config(BaseModel):
    """A config object, as passed to a training function."""

    depth: int = 3
    layers: list[int] = [8, 4]


class BrokenEndCallback(RunCallback):
    """A callback whose on_run_end raises."""

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Fail."""
        raise RuntimeError("broken callback")


def test_finished_run_has_params_tags_and_metrics(experiment: str, client: MlflowClient) -> None:
    """A clean block ends FINISHED with flattened params, its tags and every buffered point."""
    # When a run with nested params logs 50 steps
    params = {"model": {"depth": 3}, "seed": 1}
    with tracked_run("clean", params=params, tags={"team": "ml"}) as run:
        for step in range(50):
            run.log_metric("loss", 1 / (step + 1), step=step)

    # Then the store has all of it and the run is over
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FINISHED", "a clean run must finish"
    assert stored.info.run_name == "clean", "run name"
    assert stored.data.params == {"model.depth": "3", "seed": "1"}, "params are flattened"
    assert stored.data.tags["team"] == "ml", "tags are set at start"
    assert len(client.get_metric_history(run.run_id, "loss")) == 50, "points lost"
    assert mlflow.active_run() is None, "the run must not stay active"


def test_the_run_is_mlflows_active_run(experiment: str, client: MlflowClient) -> None:
    """mlflow.log_* calls inside the block go to the tracked run."""
    with tracked_run("fluent") as run:
        active = mlflow.active_run()
        assert active is not None, "no active run inside the block"
        assert active.info.run_id == run.run_id, "the active run is another run"
        mlflow.log_param("fluent", "yes")
    assert client.get_run(run.run_id).data.params == {"fluent": "yes"}, "fluent param lost"


def test_exception_marks_the_run_failed(experiment: str, client: MlflowClient) -> None:
    """An exception ends the run FAILED (never RUNNING) and is re-raised."""
    with pytest.raises(ValueError, match="diverged"), tracked_run("crash") as run:
        raise ValueError("diverged")
    assert client.get_run(run.run_id).info.status == "FAILED", "an exception must fail the run"
    assert mlflow.active_run() is None, "the failed run must not stay active"


def test_interrupt_marks_the_run_killed(experiment: str, client: MlflowClient) -> None:
    """Ctrl+C (KeyboardInterrupt) ends the run KILLED and is re-raised."""
    with pytest.raises(KeyboardInterrupt), tracked_run("interrupted") as run:
        raise KeyboardInterrupt
    assert client.get_run(run.run_id).info.status == "KILLED", "an interrupt must kill the run"


def test_buffered_points_survive_a_crash(experiment: str, client: MlflowClient) -> None:
    """Every point logged before the block raised is stored: 2500 points over many steps."""
    # Given a run that logs 2500 points (5 metrics x 500 steps), then crashes
    started: list[TrackedRun] = []

    def train() -> None:
        with tracked_run("crash") as run:
            started.append(run)
            for step in range(500):
                run.log_metrics({f"m{index}": float(step) for index in range(5)}, step=step)
            raise RuntimeError("out of memory")

    # When it runs
    with pytest.raises(RuntimeError, match="out of memory"):
        train()

    # Then all of the points are in the store and the run is FAILED
    run_id = started[0].run_id
    stored = sum(len(client.get_metric_history(run_id, f"m{i}")) for i in range(5))
    assert stored == 2500, f"{2500 - stored} points lost in the crash"
    assert client.get_run(run_id).info.status == "FAILED", "the crashed run must fail"


def test_a_failing_end_callback_still_ends_the_run(experiment: str, client: MlflowClient) -> None:
    """A callback that raises at the end is re-raised, after the run has ended."""
    with (
        pytest.raises(RuntimeError, match="broken callback"),
        tracked_run("broken", callbacks=[BrokenEndCallback()]) as run,
    ):
        run.log_metric("x", 1.0)
    assert client.get_run(run.run_id).info.status == "FINISHED", "the run must still end"
    assert client.get_run(run.run_id).data.metrics == {"x": 1.0}, "metrics flushed first"


def test_a_failing_end_callback_does_not_hide_the_error(
    experiment: str, client: MlflowClient
) -> None:
    """When the block raised, its own exception wins over a callback's."""
    with (
        pytest.raises(ValueError, match="the real error"),
        tracked_run("broken", callbacks=[BrokenEndCallback()]) as run,
    ):
        raise ValueError("the real error")
    assert client.get_run(run.run_id).info.status == "FAILED", "the run must fail"


def test_nested_runs(experiment: str, client: MlflowClient) -> None:
    """A nested tracked run is a child of the outer one; current_run() is the innermost."""
    with tracked_run("parent") as parent:
        with tracked_run("child", nested=True) as child:
            assert current_run() is child, "inside the child, current_run() is the child"
        assert current_run() is parent, "after the child, current_run() is the parent again"

    stored = client.get_run(child.run_id)
    assert stored.data.tags["mlflow.parentRunId"] == parent.run_id, "child not linked to parent"
    statuses = {client.get_run(r.run_id).info.status for r in (parent, child)}
    assert statuses == {"FINISHED"}, f"both runs must finish, got {statuses}"


def test_current_run_outside_a_run() -> None:
    """current_run() raises RuntimeError when no tracked run is active."""
    with pytest.raises(RuntimeError, match="no tracked run"):
        current_run()


def test_resume_by_run_id(experiment: str, client: MlflowClient) -> None:
    """run_id= continues an earlier run instead of starting a new one."""
    with tracked_run("first") as run:
        run.log_metric("a", 1.0)
    with tracked_run(run_id=run.run_id) as resumed:
        resumed.log_metric("b", 2.0)
    assert resumed.run_id == run.run_id, "a new run was started"
    assert client.get_run(run.run_id).data.metrics == {"a": 1.0, "b": 2.0}, "metrics of both"
    assert client.get_run(run.run_id).info.status == "FINISHED", "the resumed run must end"


def test_many_params_and_tags_are_batched(experiment: str, client: MlflowClient) -> None:
    """More params and tags than MLflow takes in one batch (100) are all stored."""
    with tracked_run("wide", params={f"p{i}": i for i in range(250)}) as run:
        run.set_tags({f"t{i}": str(i) for i in range(150)})
    stored = client.get_run(run.run_id).data
    assert len(stored.params) == 250, "params lost"
    assert all(stored.tags.get(f"t{i}") == str(i) for i in range(150)), "tags lost"


def test_a_flush_with_params_and_tags_is_one_store_call(
    experiment: str, client: MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial's end sends its curve, params and outcome together: one log_batch, all of it stored."""
    with tracked_run("trial") as run:
        for step in range(3):
            run.log_metric("val_score", step / 10, step=step)
        calls: list[int] = []
        real = run.client.log_batch

        def counted(*args: object, **kwargs: object) -> None:
            calls.append(1)
            real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(run.client, "log_batch", counted)
        run.flush(params=[Param("depth", "3")], tags=[RunTag("state", "COMPLETE")])
    assert len(calls) == 1, "the points and the params went in separate calls"
    stored = client.get_run(run.run_id).data
    assert (stored.params, stored.tags["state"]) == ({"depth": "3"}, "COMPLETE")
    history = client.get_metric_history(run.run_id, "val_score")
    assert [point.step for point in history] == [0, 1, 2], "the buffered curve was not sent"


def test_decorator_logs_arguments_and_returns(experiment: str, client: MlflowClient) -> None:
    """@tracked runs the function in a run, logs its simple arguments, and returns its value."""
    # Given a decorated function with simple, model and opaque arguments
    seen: list[TrackedRun] = []

    @tracked("decorated")
    def fit(alpha: float, config: Config, data: object = None, note: str = "x") -> float:
        """Log a score and return it."""
        seen.append(current_run())
        current_run().log_metric("score", alpha * 2)
        return alpha * 2

    # When it is called
    result = fit(0.5, Config(), data=object())

    # Then it returned, and its run holds the loggable arguments
    assert result == 1.0, "the return value is passed through"
    stored = client.get_run(seen[0].run_id)
    expected = {"alpha": "0.5", "config.depth": "3", "config.layers": "[8, 4]", "note": "x"}
    assert stored.data.params == expected, "arguments logged as params"
    assert stored.data.metrics == {"score": 1.0}, "metrics of the body"
    assert (stored.info.run_name, stored.info.status) == ("decorated", "FINISHED"), "run"
    assert fit.__name__ == "fit", "functools.wraps keeps the name"


def test_decorator_nests_and_names_after_the_function(
    experiment: str, client: MlflowClient
) -> None:
    """Without a name the run is named after the function; inside a run it becomes a child."""
    seen: list[TrackedRun] = []

    @tracked(log_args=False)
    def evaluate(threshold: float) -> None:
        """Remember the run."""
        seen.append(current_run())

    with tracked_run("outer") as outer:
        evaluate(0.5)

    stored = client.get_run(seen[0].run_id)
    assert stored.info.run_name == "evaluate", "named after the function"
    assert stored.data.params == {}, "log_args=False logs nothing"
    assert stored.data.tags["mlflow.parentRunId"] == outer.run_id, "nested under the outer run"


def test_decorator_fails_the_run_on_error(experiment: str, client: MlflowClient) -> None:
    """An exception in the function fails its run and reaches the caller."""
    seen: list[TrackedRun] = []

    @tracked()
    def train() -> None:
        """Fail."""
        seen.append(current_run())
        raise ValueError("bad data")

    with pytest.raises(ValueError, match="bad data"):
        train()
    assert client.get_run(seen[0].run_id).info.status == "FAILED", "the run must fail"


def test_a_failed_final_flush_fails_the_run_and_keeps_the_block_error(
    experiment: str, client: MlflowClient
) -> None:
    """An unwritable last batch ends the run FAILED, says how many points were lost, hides nothing."""
    # Given runs whose buffered points cannot be stored (an invalid key)
    started: list[TrackedRun] = []

    def log_bad_key(then_fail: bool) -> None:
        with tracked_run("bad key") as run:
            started.append(run)
            run.log_metric("bad key!?", 1.0)
            if then_fail:
                raise ValueError("diverged")

    # When the block succeeds, the lost points fail the run and are counted
    with pytest.raises(MetricFlushError, match=r"1 metric points of run \w+ were not written"):
        log_bad_key(then_fail=False)
    # And when the block itself failed, its own exception is the one that propagates
    with pytest.raises(ValueError, match="diverged"):
        log_bad_key(then_fail=True)

    # Then neither run is FINISHED with its metrics lost
    assert [client.get_run(run.run_id).info.status for run in started] == ["FAILED", "FAILED"]


SIGTERM_DURING_RUN = """
import sys, time, mlflow
from {{ cookiecutter.package_name }}.cli import interrupt_on_sigterm
from {{ cookiecutter.package_name }}.tracking import tracked_run
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("sigterm")
interrupt_on_sigterm()
with tracked_run("terminated") as run:
    for step in range(50):
        run.log_metric("loss", 1.0 / (step + 1), step=step)
    print(run.run_id, flush=True)
    time.sleep(60)
"""


def test_sigterm_ends_the_run_killed_with_its_points(
    tracking_uri: str, client: MlflowClient
) -> None:
    """A terminated training process leaves its run KILLED, buffered points written, never RUNNING."""
    process = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_DURING_RUN, tracking_uri], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    run_id = process.stdout.readline().strip()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert client.get_run(run_id).info.status == "KILLED"
    assert len(client.get_metric_history(run_id, "loss")) == 50, "buffered points were flushed"
