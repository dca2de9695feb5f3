"""Tests for the background server's lifecycle: a real uvicorn process on a free loopback port."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from {{ cookiecutter.package_name }}.deploy import server as lifecycle
from {{ cookiecutter.package_name }}.deploy.aliases import promote
from {{ cookiecutter.package_name }}.deploy.gate import QualityGate
from {{ cookiecutter.package_name }}.deploy.launch import ServerPaths, project_servers
from {{ cookiecutter.package_name }}.deploy.smoke import score
from {{ cookiecutter.package_name }}.model.load import resolve_version
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.net import free_port, request_json
from {{ cookiecutter.package_name }}.serving.plan import Plan
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry

from .conftest import shipped_params


@pytest.fixture
def deployed(trained_project: Settings) -> Settings:
    """The trained project with a champion, serving settings on a free port."""
    registry = Registry.open(trained_project)
    promote(registry, QualityGate(registry, shipped_params(), trained_project.data_dir))
    return trained_project.model_copy(update={"serve_port": free_port()})


def champion_version(settings: Settings) -> str:
    """The version the champion alias points at."""
    return resolve_version(settings, "champion", None)


def test_the_next_plan_is_newer_than_any_worker_applied(settings: Settings) -> None:
    """A plan file written back to an older generation by hand: the next plan still outnumbers the workers'."""
    paths = ServerPaths.of(settings)
    paths.reports_dir.mkdir(parents=True)
    Plan(7, "1", None, 0.0).write(paths.plan_file)
    (paths.reports_dir / "123.json").write_text(json.dumps({"generation": 7, "applied": 99}))
    assert lifecycle._next_plan(paths, "2", None, 0.0).generation == 100
    (paths.reports_dir / "123.json").unlink()
    assert lifecycle._next_plan(paths, "2", None, 0.0).generation == 8


def test_stale_pid_files_are_cleaned(settings: Settings) -> None:
    """A PID file naming a dead process, or someone else's process, is not a running server."""
    paths = ServerPaths.of(settings)
    paths.state_dir.mkdir(parents=True)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    for pid in (finished.stdout.strip(), str(os.getpid()), "garbage"):
        paths.pid_file.write_text(pid)
        assert lifecycle.running_pid(paths) is None
        assert not paths.pid_file.exists()
    assert lifecycle.stop(paths) is False


def test_start_restart_and_stop(deployed: Settings) -> None:
    """The server starts healthy with the expected version, a restart replaces it, stop leaves nothing."""
    paths = ServerPaths.of(deployed)
    version = champion_version(deployed)
    try:
        first = lifecycle.start(deployed, version)
        assert (first["alias"], first["version"]) == ("champion", version)
        assert first["challenger"] is None
        second = lifecycle.start(deployed, version)
        assert second["pid"] != first["pid"]
        assert not psutil.pid_exists(first["pid"]), "never two servers"
        answer = request_json(f"{second['url']}/health")
        assert answer["instance"] == second["instance"], "health proves which start answered"
    finally:
        assert lifecycle.stop(paths) is True
    assert not paths.pid_file.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", deployed.serve_port)) != 0


def test_a_busy_port_is_refused_and_nothing_is_written(deployed: Settings) -> None:
    """A foreign program on the port is named as the problem; no PID or state file is written."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", deployed.serve_port))
        taken.listen()
        with pytest.raises(lifecycle.ServerError, match=rf"port {deployed.serve_port} .* in use"):
            lifecycle.start(deployed, champion_version(deployed))
    paths = ServerPaths.of(deployed)
    assert not paths.pid_file.exists()
    assert not paths.state_file.exists()


def test_a_copied_pid_file_stops_nothing(deployed: Settings, tmp_path: Path) -> None:
    """The PID file of this project's server, copied into another project folder, is not honoured."""
    paths = ServerPaths.of(deployed)
    try:
        state = lifecycle.start(deployed, champion_version(deployed))
        copy = tmp_path / "copy"
        shutil.copytree(deployed.project_root, copy, ignore=shutil.ignore_patterns("*.db*"))
        other = deployed.model_copy(
            update={"project_root": copy, "mlflow_dir": copy / ".mlflow", "log_dir": copy / "logs"}
        )
        assert lifecycle.stop(ServerPaths.of(other)) is False
        assert psutil.pid_exists(state["pid"]), "the other project's copy stopped nothing"
    finally:
        lifecycle.stop(paths)


def served_versions(
    url: str, payload: object, stop: threading.Event, seen: list[str], failed: list[str]
) -> None:
    """A client loop: score one request after another until `stop`, noting each answer's version."""
    while not stop.is_set():
        try:
            seen.append(score(f"{url}/invocations", payload, "")[1])
        except lifecycle.ServerError as error:
            failed.append(str(error))


def test_a_running_server_swaps_model_without_failing_a_request(two_versions: Settings) -> None:
    """A swap under load: no request fails, the version changes once; a broken plan changes nothing."""
    import pandas as pd

    test = pd.read_csv(two_versions.data_dir / "prepared" / "test.csv").drop(columns=["target"])
    payload = {"dataframe_split": json.loads(test.head(1).to_json(orient="split", index=False))}
    paths = ServerPaths.of(two_versions)
    state = lifecycle.start(two_versions, "1")
    stop, seen, failed = threading.Event(), list[str](), list[str]()
    client = threading.Thread(
        target=served_versions, args=(state["url"], payload, stop, seen, failed)
    )
    client.start()
    try:
        time.sleep(0.5)
        swapped = lifecycle.swap(two_versions, "2")
        assert swapped is not None
        assert swapped["version"] == "2"
        time.sleep(0.5)
        with pytest.raises(lifecycle.ServerError, match=r"refused .* keeps serving version 2"):
            lifecycle.swap(two_versions, "999")
        time.sleep(0.5)
        moved = two_versions.model_copy(update={"serve_port": free_port()})
        assert (
            lifecycle.swap(moved, "1") is None
        ), "a server on another port is restarted, not swapped"
    finally:
        stop.set()
        client.join()
        lifecycle.stop(paths)
    assert not failed, f"{len(failed)} requests failed during the swaps: {failed[:3]}"
    changes = [(a, b) for a, b in itertools.pairwise(seen) if a != b]
    assert changes == [("1", "2")], f"versions seen: {sorted(set(seen))}, changes: {changes}"
    assert seen.count("2") > 10, "version 2 kept serving after the refused plan"


def test_health_answers_while_a_maximum_batch_is_scored(
    deployed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scoring runs off the event loop: /health answers while a maximum-size batch is in flight."""
    import pandas as pd

    monkeypatch.setenv(f"{ENV_PREFIX}SERVE_MAX_BODY_BYTES", str(100_000_000))
    test = pd.read_csv(deployed.data_dir / "prepared" / "test.csv").drop(columns=["target"])
    batch = pd.concat([test] * (deployed.serve_max_rows // len(test) + 1)).head(
        deployed.serve_max_rows
    )
    payload = {"dataframe_split": json.loads(batch.to_json(orient="split", index=False))}
    state = lifecycle.start(deployed, champion_version(deployed))
    finished: list[float] = []
    try:
        scoring = [
            threading.Thread(
                target=lambda: finished.append(
                    len(
                        request_json(f"{state['url']}/invocations", payload, timeout=60)[
                            "predictions"
                        ]
                    )
                )
            )
            for _ in range(3)
        ]
        for thread in scoring:
            thread.start()
        latencies = []
        while any(thread.is_alive() for thread in scoring):
            started = time.perf_counter()
            request_json(f"{state['url']}/health", timeout=10)
            latencies.append(time.perf_counter() - started)
        for thread in scoring:
            thread.join()
    finally:
        lifecycle.stop(ServerPaths.of(deployed))
    assert finished == [deployed.serve_max_rows] * 3, "every batch was scored"
    # Were the math on the event loop, each /health would wait for a whole batch: three answers at most.
    assert len(latencies) >= 10, "/health kept answering while the batches were scored"
    print(
        f"/health while scoring: {len(latencies)} answers, slowest {max(latencies) * 1000:.0f} ms"
    )


def orphaned(settings: Settings, version: str) -> tuple[dict[str, Any], list[psutil.Process]]:
    """A 2-worker server whose parent was killed with SIGKILL: its state, and the workers left running."""
    state = lifecycle.start(settings, version)
    workers = psutil.Process(state["pid"]).children(recursive=True)
    os.kill(state["pid"], signal.SIGKILL)
    psutil.Process(state["pid"]).wait(10)
    assert request_json(f"{state['url']}/health")["version"] == version, "the orphans still answer"
    return state, workers


def test_workers_a_killed_server_left_are_recognised_and_stopped(deployed: Settings) -> None:
    """After kill -9 of the parent, its workers are this project's: undeploy stops them, deploy replaces them."""
    settings = deployed.model_copy(update={"serve_workers": 2})
    paths = ServerPaths.of(settings)
    version = champion_version(settings)
    try:
        _, workers = orphaned(settings, version)
        assert lifecycle.running_pid(paths) is None, "the PID file names a dead process"
        assert (
            lifecycle.stop(paths) is True
        ), "undeploy stops the orphans, not 'no server was running'"
        assert not any(worker.is_running() for worker in workers)

        _, workers = orphaned(settings, version)
        lifecycle.preflight(settings)  # not "another program": the port is held by our own workers
        again = lifecycle.start(settings, version)
        assert not any(worker.is_running() for worker in workers), "the orphans were stopped first"
        assert request_json(f"{again['url']}/health")["instance"] == again["instance"]
    finally:
        lifecycle.stop(paths)
    assert not project_servers(paths), "nothing of this project's is left running"
