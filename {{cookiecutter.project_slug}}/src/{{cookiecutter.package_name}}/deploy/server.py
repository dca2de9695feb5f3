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
import shutil
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

from ..errors import ProjectError
from ..names import ENV_PREFIX
from ..project import ROOT_VARIABLE
from ..serving.metrics import MULTIPROCESS_VARIABLE
from ..serving.plan import FACTORY, INSTANCE_VARIABLE, PLAN_VARIABLE, Plan
from ..settings import Settings


class ServerError(ProjectError, RuntimeError):
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


def request_json(url: str, payload: Any = None, timeout: float = 5.0) -> Any:
    """GET (or POST a JSON payload) and decode the JSON answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def score(url: str, payload: Any, request_id: str, timeout: float = 10.0) -> tuple[Any, str]:
    """POST a scoring payload with a request id; the answer, and the version that gave it."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read()), response.headers.get("X-Model-Version", "")
    except urllib.error.HTTPError as error:
        detail = error.read()[:300].decode(errors="replace")
        raise ServerError(f"the smoke prediction failed ({error.code}): {detail}") from None
    except (urllib.error.URLError, OSError) as error:
        raise ServerError(f"the smoke prediction got no answer: {error}") from None


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


def start(
    settings: Settings, champion: str, challenger: str | None = None, percent: float = 0.0,
    timeout: float = 120.0,
) -> dict[str, Any]:  # fmt: skip
    """Start the server in the background (stopping our previous one) and wait until it serves the plan."""
    paths = ServerPaths.of(settings)
    stop(paths)
    ensure_port_free(settings)
    for folder in (paths.reports_dir, paths.metrics_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    plan = _next_plan(paths, champion, challenger, percent)
    plan.write(paths.plan_file)
    instance = secrets.token_hex(16)
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
    try:
        wait_for_workers(paths, plan.generation, settings.serve_workers, timeout)
    except ServerError:
        stop(paths)
        raise
    state = {
        "pid": process.pid,
        "url": url_of(settings),
        "workers": settings.serve_workers,
        **health,
    }
    paths.state_file.write_text(json.dumps(state, indent=2) + "\n")
    return state


def _next_plan(paths: ServerPaths, champion: str, challenger: str | None, percent: float) -> Plan:
    """A plan with a generation no worker has seen."""
    last = Plan.read(paths.plan_file)
    generation = (last.generation if last else 0) + 1
    return Plan(generation, champion, challenger, percent if challenger else 0.0)


def swap(
    settings: Settings, champion: str, challenger: str | None = None, percent: float = 0.0,
    timeout: float = 180.0,
) -> dict[str, Any] | None:  # fmt: skip
    """Make the running server serve a new plan without a restart; None when it must be (re)started.

    Every worker loads and checks the new versions beside the old ones and swaps when ready. If one fails,
    all go back to the plan they served (already loaded: at once) and ServerError says why. A server
    started with another address, port or worker count than the settings now say is not swapped: start()
    replaces it where the settings say.
    """
    paths = ServerPaths.of(settings)
    if running_pid(paths) is None:
        return None
    try:
        state: dict[str, Any] = json.loads(paths.state_file.read_text())
    except (OSError, ValueError):
        return None
    if (state.get("url"), state.get("workers")) != (url_of(settings), settings.serve_workers):
        return None
    before = Plan.read(paths.plan_file)
    plan = _next_plan(paths, champion, challenger, percent)
    plan.write(paths.plan_file)
    try:
        wait_for_workers(paths, plan.generation, state["workers"], timeout)
    except ServerError as failure:
        if before is not None:
            back = _next_plan(paths, before.champion, before.challenger, before.percent)
            back.write(paths.plan_file)
            wait_for_workers(paths, back.generation, state["workers"], timeout)
        raise ServerError(
            f"{failure}; the server keeps serving version {before.champion if before else '?'}"
        ) from None
    try:
        health = request_json(f"{state['url']}/health")
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise ServerError(f"the server swapped but does not answer /health: {error}") from None
    state.update(health, instance=state.get("instance"))
    paths.state_file.write_text(json.dumps(state, indent=2) + "\n")
    return state


def wait_for_workers(paths: ServerPaths, generation: int, workers: int, timeout: float) -> None:
    """Wait until `workers` live workers report serving `generation`; fail as soon as one could not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reports = []
        for file in paths.reports_dir.glob("*.json"):
            with contextlib.suppress(FileNotFoundError, ValueError):
                report = json.loads(file.read_text())
                if psutil.pid_exists(report["pid"]) and report["generation"] == generation:
                    reports.append(report)
        failed = [report for report in reports if not report["ok"]]
        if failed:
            raise ServerError(f"a server worker refused the new model: {failed[0]['error']}")
        if len(reports) >= workers:
            return
        time.sleep(0.05)
    raise ServerError(f"the server's workers did not take the new model within {timeout:.0f}s")


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
