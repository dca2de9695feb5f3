"""A run cut off from its tracking server: where its records are spooled, how it ends, what the user is told."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
from loguru import logger

from ..errors import ProjectError
from .spool import Spool


class TrackingInterruptedError(ProjectError, ConnectionError):
    """The tracking server went away mid-run; the run's remaining records are in its spool."""


def spool_folder() -> Path:
    """The project's spool folder (in its MLflow folder), or `.mlflow/spool` here when settings are broken."""
    from ..settings import SettingsError, load_settings

    try:
        return load_settings().mlflow_dir / "spool"
    except SettingsError:
        return Path(".mlflow", "spool").resolve()


def open_spool(folder: Path, run_id: str) -> Spool:
    """The run's spool from now on, and a warning that says so: the tracking server stopped answering."""
    spool = Spool(folder, run_id)
    logger.warning(
        "the tracking server stopped answering during run {}: what the run logs now goes to {} "
        "(make tracking-sync sends it once the server is back)",
        run_id,
        spool.path,
    )
    return spool


def end_spooled(spool: Spool, status: str) -> None:
    """Record the run's status in its spool, and take the run off MLflow's stack without waiting for the server.

    MLflow leaves the run on its stack only until end_run's request is sent: one quick attempt, no retries.
    Should the server be back already, the run shows KILLED (interrupted) until sync sets its status.
    """
    spool.end(status)
    with quick_requests():
        try:
            mlflow.end_run("KILLED")
        except Exception as error:
            logger.debug("run {} could not be ended on the server: {}", spool.run_id, error)


@contextlib.contextmanager
def quick_requests() -> Iterator[None]:
    """MLflow's HTTP requests inside the block: one attempt each, three seconds at most."""
    quick = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "3"}
    saved = {name: os.environ.get(name) for name in quick}
    os.environ.update(quick)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def interrupted(spool: Spool) -> TrackingInterruptedError:
    """The error that tells the user the run was cut off, where its records wait, and how to send them."""
    return TrackingInterruptedError(
        f"run {spool.run_id} was interrupted: the tracking server stopped answering, and "
        f"{spool.records} records of the run are spooled in {spool.path}; run "
        "`make tracking-sync` once the server answers again"
    )
