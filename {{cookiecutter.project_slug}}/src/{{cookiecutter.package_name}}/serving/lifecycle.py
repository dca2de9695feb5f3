"""The background model server's lifecycle: start one at a time, prove it is ours, check it, stop it.

A PID file and a state file in the project's deploy folder say what runs. A server counts as this project's
only when its process runs this package's app from this project folder; a started server must answer
`/health` with the instance token it was launched with and the version it was asked to serve, so a stale
or foreign server on the port can never pass for a successful deploy.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from ..names import ENV_PREFIX, PACKAGE
from ..project import ROOT_VARIABLE
from ..settings import Settings

FACTORY = f"{PACKAGE}.serving.app:app_from_environment"
# The per-start secret the server echoes in /health: proof that the answer comes from the child just started.
INSTANCE_VARIABLE = f"{ENV_PREFIX}SERVER_INSTANCE"


class ServerError(RuntimeError):
    """The server could not be started, checked or stopped; the message says what to look at."""


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


def url_of(settings: Settings) -> str:
    """The server's base URL."""
    return f"http://{settings.serve_host}:{settings.serve_port}"


def request_json(url: str, payload: Any = None, timeout: float = 5.0) -> Any:
    """GET (or POST a JSON payload) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def is_our_server(pid: int, project_root: Path) -> bool:
    """True when pid is alive and runs this package's server from this project folder.

    A recycled pid, another program, or the server of a copy of this project elsewhere is not ours.
    """
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return FACTORY in process.cmdline() and Path(process.cwd()) == project_root
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def running_pid(paths: ServerPaths) -> int | None:
    """The pid of the running server, or None; a PID file that is not ours is removed, nothing stopped."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        paths.pid_file.unlink(missing_ok=True)
        return None
    if is_our_server(pid, paths.project_root):
        return pid
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)
    return None


def stop(paths: ServerPaths, timeout: float = 10.0) -> bool:
    """Stop the background server and its workers; return whether one was running."""
    pid = running_pid(paths)
    if pid is None:
        return False
    leader = psutil.Process(pid)
    group = [leader, *leader.children(recursive=True)]
    for process in group:
        _signal(process, signal.SIGTERM)
    _, alive = psutil.wait_procs(group, timeout=timeout)
    for process in alive:
        _signal(process, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=timeout)
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)
    return True


def _signal(process: psutil.Process, number: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(number)


def ensure_port_free(settings: Settings) -> None:
    """Refuse a port another program listens on, before anything is started or written."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.serve_host, settings.serve_port))
        except OSError:
            raise ServerError(
                f"port {settings.serve_port} on {settings.serve_host} is in use by another program: "
                f"stop it, or choose another port with {ENV_PREFIX}SERVE_PORT"
            ) from None


def start(settings: Settings, version: str, timeout: float = 60.0) -> dict[str, Any]:
    """Start the server in the background (stopping our previous one) and wait until it serves `version`."""
    paths = ServerPaths.of(settings)
    stop(paths)
    ensure_port_free(settings)
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    instance = secrets.token_hex(16)
    command = [
        sys.executable, "-m", "uvicorn", FACTORY, "--factory",
        "--host", settings.serve_host, "--port", str(settings.serve_port),
        "--workers", str(settings.serve_workers), "--no-access-log",
    ]  # fmt: skip
    env = {**os.environ, ROOT_VARIABLE: str(settings.project_root), INSTANCE_VARIABLE: instance}
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
    health = wait_until_healthy(settings, process, paths, instance, timeout)
    if health.get("version") != version:
        stop(paths)
        raise ServerError(
            f"the server loaded version {health.get('version')}, not {version}: the "
            f"'{settings.serve_alias}' alias moved during the start; deploy again"
        )
    state = {"pid": process.pid, "url": url_of(settings), **health}
    paths.state_file.write_text(json.dumps(state, indent=2) + "\n")
    return state


def wait_until_healthy(
    settings: Settings,
    process: subprocess.Popen[bytes],
    paths: ServerPaths,
    instance: str,
    timeout: float,
) -> dict[str, Any]:
    """Poll /health until our child answers; fail early with the log's tail when the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise ServerError(f"the server exited ({process.returncode}):\n{_tail(paths.log_file)}")
        try:
            health: dict[str, Any] = request_json(f"{url_of(settings)}/health", timeout=1.0)
            if health.get("instance") == instance:
                return health
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            pass
        time.sleep(0.1)
    stop(paths)
    raise ServerError(f"no healthy answer within {timeout:.0f}s:\n{_tail(paths.log_file)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
