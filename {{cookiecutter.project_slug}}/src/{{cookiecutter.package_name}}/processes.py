"""Stopping a process the project started, with every process below it."""

from __future__ import annotations

import contextlib
import signal

import psutil


def stop_tree(pid: int, timeout: float = 10.0, include_leader: bool = True) -> bool:
    """SIGTERM `pid` and its descendants, SIGKILL what is left after `timeout`; False if pid was gone.

    With `include_leader=False` only the descendants are signalled (a wrapper such as `buildah run`
    that must not be killed itself: it exits once its child does).
    """
    try:
        leader = psutil.Process(pid)
        group = [*([leader] if include_leader else []), *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    stop_all(group, timeout)
    return True


def stop_all(group: list[psutil.Process], timeout: float = 10.0) -> bool:
    """SIGTERM every process of `group` at once, SIGKILL what is left after `timeout`; whether any ran.

    All at once, since some wait for others: multiprocessing's resource tracker ignores SIGTERM and
    exits when the last worker it serves does.
    """
    for process in group:
        _signal(process, signal.SIGTERM)
    _, alive = psutil.wait_procs(group, timeout=timeout)
    for process in alive:
        _signal(process, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=timeout)
    return bool(group)


def _signal(process: psutil.Process, number: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        process.send_signal(number)
