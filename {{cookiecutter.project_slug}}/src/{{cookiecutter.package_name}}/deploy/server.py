"""The background model server's lifecycle: start one at a time, prove it is ours, check it, stop it.

A PID file and a state file in the project's deploy folder say what runs. A server counts as this project's
only when its process runs this package's app from this project folder; a started server must answer
`/health` with the instance token it was launched with and the version it was asked to serve, so a stale
or foreign server on the port can never pass for a successful deploy.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import psutil

from ..errors import ProjectError
from ..files import write_json_atomically
from ..names import ENV_PREFIX
from ..net import UNANSWERED, HealthTimeoutError, request_json, wait_for_health
from ..processes import stop_all, stop_tree
from ..serving.plan import FACTORY, Plan, PlanError, read_reports
from ..settings import Settings
from .launch import ServerPaths, launch, log_tail, project_servers, url_of
from .workers import WorkerRefusedError, WorkersNotServingError
from .workers import wait_for_workers as wait_for_reports


class ServerError(ProjectError, RuntimeError):
    """The server could not be started, checked or stopped; the message says what to look at."""


class ModelRefusedError(ServerError):
    """The server refused the version itself (it would not load, check or predict): not a server fault."""


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
    """Stop the background server and its workers, or the workers a killed server left; whether any ran."""
    pid = running_pid(paths)
    stopped = pid is not None and stop_tree(pid, timeout)
    # Workers a killed server left still answer on the port: ours all the same, stopped together.
    stopped = stop_all(project_servers(paths), timeout) or stopped
    paths.pid_file.unlink(missing_ok=True)
    paths.state_file.unlink(missing_ok=True)
    return stopped


def preflight(settings: Settings) -> None:
    """What can fail without touching the registry, checked before a deploy command writes to it.

    Without a server of ours running, the port must be free; with one, its plan file must be readable.
    """
    paths = ServerPaths.of(settings)
    if running_pid(paths) is None:
        if not project_servers(paths):  # workers a killed server left are ours: start() stops them
            ensure_port_free(settings)
        return
    try:
        Plan.read(paths.plan_file)
    except PlanError as error:
        raise ServerError(
            f"{error}: the running server cannot be told what to serve; run make undeploy, then deploy "
            "again (a new server starts on a new plan)"
        ) from None


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
    plan = _next_plan(paths, champion, challenger, percent, fresh=True)
    plan.write(paths.plan_file)
    instance = secrets.token_hex(16)
    process = launch(settings, paths, instance)
    health = _wait_until_healthy(settings, process, paths, instance, timeout)
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
    write_json_atomically(paths.state_file, state)
    return state


def _next_plan(
    paths: ServerPaths, champion: str, challenger: str | None, percent: float, fresh: bool = False
) -> Plan:
    """A plan with a generation no worker has seen; `fresh` (no worker runs) replaces an unreadable one."""
    try:
        last = Plan.read(paths.plan_file)
    except PlanError:
        if not fresh:
            raise
        last = None
    # Newer than the file and than what any worker applied (a plan file written back by hand is older).
    applied = [r.get("applied", 0) for r in read_reports(paths.reports_dir)]
    generation = max([last.generation if last else 0, *applied]) + 1
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
    state = _swappable(settings, paths)
    if state is None:
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
    except UNANSWERED as error:
        raise ServerError(f"the server swapped but does not answer /health: {error}") from None
    state.update(health, instance=state.get("instance"))
    write_json_atomically(paths.state_file, state)
    return state


def _swappable(settings: Settings, paths: ServerPaths) -> dict[str, Any] | None:
    """The running server's state, if it runs where the settings say with as many workers."""
    if running_pid(paths) is None:
        return None
    try:
        state: dict[str, Any] = json.loads(paths.state_file.read_text())
    except (OSError, ValueError):
        return None
    if (state.get("url"), state.get("workers")) != (url_of(settings), settings.serve_workers):
        return None
    return state


def wait_for_workers(paths: ServerPaths, generation: int, workers: int, timeout: float) -> None:
    """Wait until `workers` live workers report serving `generation`; ServerError as soon as one could not."""
    try:
        wait_for_reports(paths.reports_dir, generation, workers, timeout)
    except WorkerRefusedError as error:
        raise ModelRefusedError(str(error)) from None
    except WorkersNotServingError as error:
        raise ServerError(str(error)) from None


def _wait_until_healthy(
    settings: Settings,
    process: subprocess.Popen[bytes],
    paths: ServerPaths,
    instance: str,
    timeout: float,
) -> dict[str, Any]:
    """Poll /health until our child answers; fail early with the log's tail when the process dies."""

    def alive() -> None:
        if process.poll() is not None:
            paths.pid_file.unlink(missing_ok=True)
            raise ServerError(f"the server exited ({process.returncode}):\n{log_tail(paths)}")

    try:
        return wait_for_health(
            f"{url_of(settings)}/health",
            timeout,
            accept=lambda health: health.get("instance") == instance,
            alive=alive,
        )
    except HealthTimeoutError:
        stop(paths)
        raise ServerError(f"no healthy answer within {timeout:.0f}s:\n{log_tail(paths)}") from None
