"""Launching the background server: where it keeps its files, its address, and the command it runs with.

The server is uvicorn on the app factory, told through its environment which project, plan and metrics
folder are its own, and the instance token that proves an answer comes from the process just started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..project import ROOT_VARIABLE
from ..serving.metrics import MULTIPROCESS_VARIABLE
from ..serving.plan import FACTORY, INSTANCE_VARIABLE, PLAN_VARIABLE
from ..settings import Settings


@dataclass(frozen=True)
class ServerPaths:
    """Where the background server keeps its state and log."""

    state_dir: Path
    log_file: Path
    project_root: Path

    @classmethod
    def of(cls, settings: Settings) -> ServerPaths:
        """The paths for a project's settings."""
        return cls(
            settings.mlflow_dir / "deploy", settings.log_dir / "server.log", settings.project_root
        )

    @property
    def pid_file(self) -> Path:
        """The running server's process id."""
        return self.state_dir / "server.pid"

    @property
    def state_file(self) -> Path:
        """What is served where."""
        return self.state_dir / "server.json"

    @property
    def plan_file(self) -> Path:
        """The deploy plan the workers follow (see routing)."""
        return self.state_dir / "plan.json"

    @property
    def reports_dir(self) -> Path:
        """Each worker's report of what it serves."""
        return self.state_dir / "workers"

    @property
    def metrics_dir(self) -> Path:
        """The workers' Prometheus samples (multiprocess mode), emptied at each start."""
        return self.state_dir / "metrics"


def url_of(settings: Settings) -> str:
    """The server's base URL."""
    return f"http://{settings.serve_host}:{settings.serve_port}"


def launch(settings: Settings, paths: ServerPaths, instance: str) -> subprocess.Popen[bytes]:
    """Run uvicorn on the app factory in its own process group, logging to the server log."""
    command = [
        sys.executable, "-m", "uvicorn", FACTORY, "--factory",
        "--host", settings.serve_host, "--port", str(settings.serve_port),
        "--workers", str(settings.serve_workers), "--no-access-log",
    ]  # fmt: skip
    env = {
        **os.environ,
        ROOT_VARIABLE: str(settings.project_root),
        INSTANCE_VARIABLE: instance,
        PLAN_VARIABLE: str(paths.plan_file),
        MULTIPROCESS_VARIABLE: str(paths.metrics_dir),
    }
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=settings.project_root,
            start_new_session=True,  # its own process group: stop() ends the workers too
        )
    paths.pid_file.write_text(f"{process.pid}\n")
    return process


def log_tail(paths: ServerPaths, lines: int = 20) -> str:
    """The last lines the server wrote to its log: what an error about its start shows."""
    try:
        return "\n".join(paths.log_file.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def project_servers(paths: ServerPaths) -> list[psutil.Process]:
    """This project's server processes, whatever the PID file says: a parent, or workers it left behind.

    `launch` gives each its project folder and an instance token in the environment, which its workers
    inherit: a worker whose parent was killed (SIGKILL) still says whose it is.
    """
    root, found = str(paths.project_root), []
    for process in psutil.process_iter():
        if process.pid == os.getpid():
            continue
        try:
            environment = process.environ()
        except (psutil.Error, OSError):  # gone meanwhile, another user's, a kernel thread
            continue
        if INSTANCE_VARIABLE in environment and environment.get(ROOT_VARIABLE) == root:
            found.append(process)
    return found
