"""One deploy command at a time per project: a file lock (filelock) around every command that moves state."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Callable, Iterator
from typing import Concatenate, ParamSpec, TypeVar

from filelock import FileLock, Timeout

from ..settings import Settings
from .launch import ServerPaths
from .server import ServerError

WAIT_SECONDS = 30.0  # how long a command waits for the one before it, then says who holds the lock

P = ParamSpec("P")
R = TypeVar("R")


class DeployBusyError(ServerError):
    """Another deploy command of this project holds the lock; the message names its process."""


@contextlib.contextmanager
def deploy_lock(settings: Settings, wait: float | None = None) -> Iterator[None]:
    """Hold the project's deploy lock for the block; DeployBusyError after `wait` (WAIT_SECONDS) without it."""
    folder = ServerPaths.of(settings).state_dir
    folder.mkdir(parents=True, exist_ok=True)
    holder = folder / "deploy.lock.pid"
    lock = FileLock(folder / "deploy.lock")
    try:
        lock.acquire(timeout=WAIT_SECONDS if wait is None else wait)
    except Timeout:
        pid = holder.read_text().strip() if holder.is_file() else "unknown"
        raise DeployBusyError(
            f"another deploy is running (pid {pid}): wait for it to end, then run this again"
        ) from None
    try:
        holder.write_text(f"{os.getpid()}\n")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def exclusive(
    command: Callable[Concatenate[Settings, P], R],
) -> Callable[Concatenate[Settings, P], R]:
    """Run a deploy command (settings first) under the project's deploy lock."""

    def locked(settings: Settings, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with deploy_lock(settings):
            return command(settings, *args, **kwargs)

    return functools.wraps(command)(locked)
