"""Tests for the background server: a real uvicorn process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.pipeline.params import load_params
from {{ cookiecutter.package_name }}.promotion import promote
from {{ cookiecutter.package_name }}.serving import process
from {{ cookiecutter.package_name }}.serving.process import ServerPaths
from {{ cookiecutter.package_name }}.settings import Settings


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_stale_pid_files_are_cleaned(settings: Settings) -> None:
    """A PID file naming a dead process, or someone else's process, is not a running server."""
    paths = ServerPaths.of(settings)
    paths.state_dir.mkdir(parents=True)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    for pid in (finished.stdout.strip(), str(os.getpid()), "garbage"):
        paths.pid_file.write_text(pid)
        assert process.running_pid(paths) is None
        assert not paths.pid_file.exists()
    assert process.stop(paths) is False


def test_start_restart_and_stop(trained_project: Settings) -> None:
    """The server starts healthy, a restart replaces it, and stop leaves no process."""
    promote(trained_project, load_params(Path(__file__).parents[2] / "params.yaml"))
    settings = trained_project.model_copy(update={"serve_port": free_port()})
    paths = ServerPaths.of(settings)
    try:
        first = process.start(settings)
        assert first["alias"] == "champion"
        second = process.start(settings)
        assert second["pid"] != first["pid"]
        assert not Path(f"/proc/{first['pid']}").exists(), "never two servers"
        answer = process.request_json(f"{second['url']}/health")
        assert answer["status"] == "ok"
    finally:
        assert process.stop(paths) is True
    assert not paths.pid_file.exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", settings.serve_port)) != 0


def test_a_server_that_cannot_start_reports_its_log(trained_project: Settings) -> None:
    """A port already taken makes start fail with the server's own log in the message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = trained_project.model_copy(update={"serve_port": taken.getsockname()[1]})
        with pytest.raises(process.ServerError, match="exited"):
            process.start(settings, timeout=60)
