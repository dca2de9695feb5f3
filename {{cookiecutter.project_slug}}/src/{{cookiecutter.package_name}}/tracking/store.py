"""The one owner of the MLflow store: the tracking URI, applied once per process, the client and the aliases.

Every module that talks to MLflow's tracking store or registry asks this one for its client; nothing else
calls `mlflow.set_tracking_uri` or builds an `MlflowClient` for the project.
"""

from __future__ import annotations

import contextlib
import os
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ProjectError
from ..names import ARTIFACT_SCHEME, ENV_PREFIX
from ..settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CHAMPION = "champion"  # the version being served
PREVIOUS = "previous"  # the champion before it: where `rollback` goes
CHALLENGER = "challenger"  # a canary: serves a share of the requests beside the champion
# MLflow's record of what an experiment is for: the project trains classical models, not GenAI apps. (MLflow
# 3.17's UI still opens on its GenAI overview unless the address says otherwise: `ui` in cli.py prints one.)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
PROBE_TIMEOUT = 5.0  # seconds a tracking server has to answer /health before a run starts
# MLflow retries a failed request 7 times with doubling waits (minutes in all). Against a team server, a blip of
# about 10 s is retried; a longer outage sends the run's writes to the spool (spool.py) instead of blocking.
HTTP_RETRY_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
}
# The stores that are a database MLflow opens through SQLAlchemy (full `mlflow` only, not mlflow-skinny).
DATABASES = frozenset({"sqlite", "postgresql", "mysql", "mssql"})
_reachable: set[str] = set()


class ServerUnreachableError(ProjectError, ConnectionError):
    """The tracking server does not answer; the message names it (without credentials) and the fix."""


def connect(settings: Settings) -> MlflowClient:
    """Point this process's MLflow at the project's store (the embedded one is created) and return a client."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_tracking_uri
    if uri.partition(":")[0].partition("+")[0] in DATABASES and find_spec("sqlalchemy") is None:
        # mlflow-skinny (the serving-only install) opens no database: the CLI names the extra to install.
        raise ModuleNotFoundError("a database store needs sqlalchemy", name="sqlalchemy")
    if settings.tracking_server:
        for name, value in HTTP_RETRY_DEFAULTS.items():
            os.environ.setdefault(name, value)  # the user's own choice, in the environment, wins
        ensure_reachable(settings)
    if mlflow.get_tracking_uri() != uri:
        if settings.tracking_uri is None:
            settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
            write_ahead_log(settings.mlflow_dir / "mlflow.db")
        mlflow.set_tracking_uri(uri)
    return MlflowClient(uri)


def write_ahead_log(database: Path) -> None:
    """Put the embedded store in SQLite's WAL mode (it stays so): a third less time per run's writes.

    A run is three to four commits; WAL writes each once, to one file, where the default journal writes and
    syncs two, and readers (the UI, another worker) no longer wait for a writer. A file that is not a
    database is left as it is: opening it through MLflow then says so in one line (`unreadable_store`).
    """
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(database)) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        return


def ensure_reachable(settings: Settings) -> None:
    """Ask the tracking server's /health once per process; raise ServerUnreachableError within PROBE_TIMEOUT."""
    import requests

    uri = settings.resolved_tracking_uri
    if uri in _reachable:
        return
    try:
        requests.get(f"{uri.rstrip('/')}/health", timeout=PROBE_TIMEOUT)
    except requests.RequestException as error:
        raise ServerUnreachableError(
            f"the MLflow tracking server {settings.safe_tracking_uri} does not answer ({_reason(error)}): "
            f"start it (make tracking-server), or set {ENV_PREFIX}TRACKING_URI in .env to your team's "
            "server (empty: the embedded store in .mlflow/)"
        ) from None
    _reachable.add(uri)


def _reason(error: BaseException) -> str:
    import requests

    if isinstance(error, requests.Timeout):
        return f"no answer within {PROBE_TIMEOUT:g} s"
    text = str(error)
    for known in ("Connection refused", "Name or service not known", "No route to host"):
        if known in text:
            return known.lower()
    return type(error).__name__


def is_unreachable(error: BaseException) -> bool:
    """True when `error` (or what it was raised from) says the tracking server could not be reached.

    MLflow wraps a failed request in an MlflowException raised while handling the `requests` error, so the
    chain is followed; retries that ran out on 5xx answers (a proxy in front of a stopped server) count too.
    """
    import requests

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ServerUnreachableError | requests.ConnectionError | requests.Timeout):
            return True
        if isinstance(seen, requests.exceptions.RetryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unreadable_store(error: BaseException, settings: Settings) -> str | None:
    """One line for an embedded store that is not a database (corrupt, truncated), else None."""
    import sqlalchemy.exc

    if settings.tracking_uri is not None or not isinstance(error, sqlalchemy.exc.DatabaseError):
        return None
    database = settings.mlflow_dir / "mlflow.db"
    return (
        f"{database}: not a readable MLflow store ({getattr(error, 'orig', error)}); restore it from "
        "a backup, or move it away to start an empty one"
    )


def active_client() -> MlflowClient:
    """A client for whatever store this process's MLflow points at now (a notebook may have chosen another)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def project_experiment_id(settings: Settings, client: MlflowClient) -> str:
    """The id of the project's experiment in the client's store, created (with its kind tag) when missing."""
    import mlflow
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return str(experiment.experiment_id)
    # In the embedded store, artifacts go to the project's folder, named relative to it (see
    # mlflow_plugin/artifacts.py): moving or copying the project keeps every run and model loadable.
    own_store = (
        settings.tracking_uri is None
        and mlflow.get_tracking_uri() == settings.resolved_tracking_uri
    )
    location = f"{ARTIFACT_SCHEME}:/" if own_store else None
    try:
        return str(
            client.create_experiment(
                settings.experiment_name, artifact_location=location, tags=EXPERIMENT_KIND
            )
        )
    except MlflowException:
        # Another process (a parallel DVC queue worker) created it first: use theirs.
        created = client.get_experiment_by_name(settings.experiment_name)
        if created is None:
            raise
        return str(created.experiment_id)
