"""Waiting for the server's workers: each reports in `workers/<pid>.json` the plan it serves, or why it cannot."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil

from ..errors import ProjectError
from ..serving.plan import read_reports


class WorkersNotServingError(ProjectError, RuntimeError):
    """A worker refused a plan, or not every worker took it in time; the message says which."""


class WorkerRefusedError(WorkersNotServingError):
    """A worker could not load or check a version of the plan: the model, not the server, is at fault."""


def reports(reports_dir: Path, generation: int) -> list[dict[str, Any]]:
    """The reports of live workers about plan `generation` (a report being written is read next time)."""
    return [
        report
        for report in read_reports(reports_dir)
        if psutil.pid_exists(report["pid"]) and report["generation"] == generation
    ]


def wait_for_workers(reports_dir: Path, generation: int, workers: int, timeout: float) -> None:
    """Wait until `workers` live workers report serving `generation`; fail as soon as one could not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = reports(reports_dir, generation)
        failed = [report for report in found if not report["ok"]]
        if failed:
            raise WorkerRefusedError(f"a server worker refused the new model: {failed[0]['error']}")
        if len(found) >= workers:
            return
        time.sleep(0.05)
    raise WorkersNotServingError(
        f"the server's workers did not take the new model within {timeout:.0f}s"
    )
