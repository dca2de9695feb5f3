"""Tests for the spool: a run's writes survive an unreachable tracking server, and sync replays them once."""

from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import mlflow
import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.tracking import TrackedRun, TrackingInterruptedError, tracked_run
from {{ cookiecutter.package_name }}.tracking.spool import SPOOLED_TAG, RunReplay, Spool, SpoolError, pending, sync


@pytest.fixture
def dead_server(monkeypatch: pytest.MonkeyPatch) -> str:
    """The address of a tracking server that is not there (a port nobody listens on), refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return f"http://127.0.0.1:{port}"


def points(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    """A metric's stored points as (step, value), in step order."""
    return sorted((m.step, m.value) for m in client.get_metric_history(run_id, key))


def test_a_spool_file_reads_back_merged_and_skips_a_torn_last_line(tmp_path: Path) -> None:
    """A crash mid-write loses only the torn line; NaN survives the round trip."""
    spool = Spool(tmp_path, "run1")
    spool.write(params=[Param("lr", "0.1")], tags=[RunTag("team", "a")])
    spool.write(metrics=[Metric("loss", 0.5, 1000, 0), Metric("loss", math.nan, 1001, 1)])
    spool.end("FAILED")
    with spool.path.open("a") as stream:
        stream.write('{"metrics": [["loss", 0.1')  # a crash in the middle of a write

    replay = RunReplay.read(spool.path)

    assert (replay.params, replay.tags, replay.status) == ({"lr": "0.1"}, {"team": "a"}, "FAILED")
    assert [m.step for m in replay.metrics] == [0, 1]
    assert math.isnan(replay.metrics[1].value)
    assert spool.records == 3


def test_a_damaged_spool_line_is_one_error_naming_the_file_and_line(tmp_path: Path) -> None:
    """A line edited by hand (a metric value that is not a number) is refused by file and line."""
    spool = Spool(tmp_path, "run1")
    spool.write(params=[Param("lr", "0.1")])
    with spool.path.open("a") as stream:
        stream.write(json.dumps({"metrics": [["m", "abc", 1700000000000, 0]]}) + "\n")
    with pytest.raises(SpoolError, match=r"run1\.jsonl, line 2: not a spool record"):
        RunReplay.read(spool.path)


def test_sync_replays_each_point_once_sets_the_status_and_is_idempotent(
    experiment: str, client: MlflowClient, tmp_path: Path
) -> None:
    """A partial sync resumes, every point lands once, and a second sync sends nothing."""
    run = client.create_run(experiment)
    run_id = run.info.run_id
    spooled = [Metric("loss", 1.0 / (step + 1), 1000 + step, step) for step in range(2500)]
    client.log_batch(run_id, metrics=spooled[:700], synchronous=True)  # a sync cut off halfway
    spool = Spool(tmp_path, run_id)
    spool.write(params=[Param("depth", "3")], metrics=spooled[:1200])
    spool.write(metrics=spooled[1200:], tags=[RunTag("stage", "train")])
    spool.end("FAILED")

    first = list(sync(client, tmp_path))

    assert [(r.sent, r.already_there, r.status) for r in first] == [(1800, 700, "FAILED")]
    stored = client.get_run(run_id)
    assert points(client, run_id, "loss") == [(m.step, m.value) for m in spooled]
    assert stored.info.status == "FAILED"
    assert stored.data.params == {"depth": "3"}
    assert stored.data.tags["stage"] == "train"
    assert "2500 metric points" in stored.data.tags[SPOOLED_TAG]
    assert pending(tmp_path) == [], "a synced spool is moved out of the way"

    # A copy of the spool put back (a restored backup): sync again changes nothing.
    (tmp_path / f"{run_id}.jsonl").write_bytes(
        (tmp_path / "synced" / f"{run_id}.jsonl").read_bytes()
    )
    again = list(sync(client, tmp_path))
    assert [(r.sent, r.already_there) for r in again] == [(0, 2500)]
    assert len(client.get_metric_history(run_id, "loss")) == 2500


def test_a_spool_of_a_run_the_store_does_not_know_stays_put(
    client: MlflowClient, tmp_path: Path
) -> None:
    """Syncing into the wrong store fails in one line naming the run and the fix, and keeps the spool."""
    Spool(tmp_path, "0" * 32).write(metrics=[Metric("loss", 1.0, 1, 0)])

    with pytest.raises(SpoolError, match=rf"run {'0' * 32} .* not in this tracking store: point"):
        list(sync(client, tmp_path))

    assert [path.name for path in pending(tmp_path)] == [f"{'0' * 32}.jsonl"]


def test_a_server_lost_mid_run_spools_the_rest_and_reports_the_run_interrupted(
    experiment: str,
    client: MlflowClient,
    dead_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Writes after the server went away are spooled; the run is reported interrupted; sync completes it."""
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tracking.runs.spool_folder", lambda: tmp_path)
    runs: list[TrackedRun] = []

    def train() -> None:
        with tracked_run("cut-off", params={"depth": 3}) as run:
            runs.append(run)
            run.log_metrics({"loss": 1.0}, step=0)
            run.flush()
            # The server goes away: this process's MLflow now reaches a closed port.
            mlflow.set_tracking_uri(dead_server)
            run.client = MlflowClient(dead_server)
            for step in range(1, 5):
                run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
            run.flush()
            run.set_tags({"phase": "after"})

    with pytest.raises(TrackingInterruptedError, match=r"make tracking-sync") as interrupted:
        train()
    assert str(tmp_path) in str(interrupted.value)
    (run,) = runs
    assert run.spool is not None

    mlflow.set_tracking_uri(client.tracking_uri)  # the server is back
    records = [json.loads(line) for line in run.spool.path.read_text().splitlines()]
    assert records[-1]["status"] == "FINISHED", "the block's own status is kept for sync"
    assert client.get_run(run.run_id).info.status == "RUNNING", "the store never heard the end"

    results = list(sync(client, tmp_path))

    assert [r.sent for r in results] == [4]
    assert [step for step, _ in points(client, run.run_id, "loss")] == [0, 1, 2, 3, 4]
    assert client.get_run(run.run_id).data.tags["phase"] == "after"
    assert client.get_run(run.run_id).info.status == "FINISHED"


def test_an_error_that_is_not_about_the_server_is_not_spooled(
    experiment: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused write (not a lost server) still raises, and nothing is spooled."""
    monkeypatch.setattr("{{ cookiecutter.package_name }}.tracking.runs.spool_folder", lambda: tmp_path)
    runs: list[TrackedRun] = []

    def change_a_param() -> None:
        with tracked_run("bad") as run:
            runs.append(run)
            run.log_params({"key": "first"})
            run.log_params({"key": "changed"})  # MLflow refuses to change a logged param

    with pytest.raises(mlflow.exceptions.MlflowException):
        change_a_param()

    assert runs[0].spool is None
    assert list(tmp_path.iterdir()) == []
