"""Run the model server in the background: one at a time, a PID file, health checks, a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from {{ cookiecutter.package_name }}.settings import Settings

FACTORY = "{{ cookiecutter.package_name }}.serving.app:app_from_environment"


class ServerError(RuntimeError):
    """The server could not be started, checked or stopped; the message says what to look at."""


@dataclass(frozen=True)
class ServerPaths:
    """Where the background server keeps its state and log."""

    state_dir: Path
    log_file: Path

    @classmethod
    def of(cls, settings: Settings) -> ServerPaths:
        """The paths for a project's settings."""
        return cls(settings.mlflow_dir / "deploy", settings.log_dir / "server.log")

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


def _is_our_server(pid: int) -> bool:
    """True when pid is alive and runs this project's server (not a recycled pid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    return not cmdline.exists() or FACTORY.encode() in cmdline.read_bytes()


def running_pid(paths: ServerPaths) -> int | None:
    """The pid of the running server, or None; a stale PID file is removed."""
    try:
        pid = int(paths.pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        paths.pid_file.unlink(missing_ok=True)
        return None
    if _is_our_server(pid):
        return pid
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)
    return None


def stop(paths: ServerPaths, timeout: float = 10.0) -> bool:
    """Stop the background server and its workers; return whether one was running."""
    pid = running_pid(paths)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _is_alive_group(pid):
        time.sleep(0.05)
    if _is_alive_group(pid):
        os.killpg(pid, signal.SIGKILL)
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)
    return True


def _is_alive_group(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    # A zombie leader still "exists" until reaped; treat a reaped-or-zombie leader as gone.
    try:
        waited, _ = os.waitpid(pgid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        status = Path(f"/proc/{pgid}/stat")
        return status.exists() and ") Z " not in status.read_text()


def start(settings: Settings, timeout: float = 60.0) -> dict[str, Any]:
    """Start the server in the background (stopping any previous one) and wait until it is healthy."""
    paths = ServerPaths.of(settings)
    stop(paths)
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "uvicorn", FACTORY, "--factory",
        "--host", settings.serve_host, "--port", str(settings.serve_port),
        "--workers", str(settings.serve_workers), "--no-access-log",
    ]  # fmt: skip
    env = {**os.environ, "{{ cookiecutter.package_name | upper }}_PROJECT_ROOT": str(settings.project_root)}
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
    health = wait_until_healthy(settings, process, paths, timeout)
    state = {"pid": process.pid, "url": url_of(settings), **health}
    paths.state_file.write_text(json.dumps(state, indent=2) + "\n")
    return state


def wait_until_healthy(
    settings: Settings, process: subprocess.Popen[bytes], paths: ServerPaths, timeout: float
) -> dict[str, Any]:
    """Poll /health until it answers; fail early with the log's tail when the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise ServerError(f"the server exited ({process.returncode}):\n{_tail(paths.log_file)}")
        try:
            health: dict[str, Any] = request_json(f"{url_of(settings)}/health", timeout=1.0)
            return health
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            time.sleep(0.1)
    stop(paths)
    raise ServerError(f"no healthy answer within {timeout:.0f}s:\n{_tail(paths.log_file)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
