"""The team's tracking server: `mlflow server` on PostgreSQL with proxied artifacts, built from the settings.

This is the server side of team mode. Clients need only `<PREFIX>_TRACKING_URI` (and MLflow's own
`MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` with the basic-auth app): artifacts travel through the
server, so no client holds storage credentials.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ProjectError
from ..names import ENV_PREFIX
from ..settings import Settings, home_of, mask_credentials

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class ServerConfigError(ProjectError, ValueError):
    """The tracking server's settings do not make a safe server; the message names the key to set."""


def mlflow_executable() -> str:
    """The mlflow command of this environment, even when its bin folder is not on PATH."""
    beside = Path(sys.executable).with_name("mlflow")
    found = str(beside) if beside.is_file() else shutil.which("mlflow")
    if found is None:
        raise ServerConfigError("the mlflow command is not installed in this environment")
    return found


def artifacts_destination(settings: Settings) -> str:
    """An object-store URI as given; a folder made absolute in the project (and created)."""
    value = settings.tracking_server_artifacts
    if "://" in value:
        return value
    folder = (home_of(settings.project_root) / Path(value).expanduser()).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def allowed_hosts(settings: Settings) -> str:
    """The Host headers the server accepts (MLflow's guard against DNS rebinding).

    Bound to loopback, that is the loopback names with the port. Bound to a network address, clients use
    names only the team knows, so the setting must list them.
    """
    if settings.tracking_server_allowed_hosts:
        return settings.tracking_server_allowed_hosts
    if settings.tracking_server_host in LOOPBACK:
        port = settings.tracking_server_port
        return f"127.0.0.1:{port},localhost:{port},[::1]:{port}"
    raise ServerConfigError(
        f"the tracking server binds {settings.tracking_server_host}: set "
        f"{ENV_PREFIX}TRACKING_SERVER_ALLOWED_HOSTS to the host names clients use "
        "(e.g. mlflow.example.com,mlflow.example.com:5000)"
    )


def server_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The `mlflow server` command line and the environment it adds.

    The backend URI travels in the environment (MLFLOW_BACKEND_STORE_URI), not on the command line, where
    `ps` would show its password to every user of the machine.
    """
    argv = [
        mlflow_executable(),
        "server",
        "--host",
        settings.tracking_server_host,
        "--port",
        str(settings.tracking_server_port),
        "--workers",
        str(settings.tracking_server_workers),
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination(settings),
        "--allowed-hosts",
        allowed_hosts(settings),
    ]
    if settings.tracking_server_auth:
        argv += ["--app-name", "basic-auth"]
    return argv, {"MLFLOW_BACKEND_STORE_URI": settings.tracking_server_backend_uri}


def create_database(settings: Settings, database: str | None = None) -> bool:
    """Create the backend URI's PostgreSQL database (or `database` on the same server); True when created.

    Connects to the server's `postgres` maintenance database with the same user; MLflow (and Optuna, for the
    database of `make tune`) creates its tables itself on first use.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(settings.tracking_server_backend_uri)
    url = url.set(database=database) if database and url.database else url
    if not url.drivername.startswith("postgresql") or not url.database:
        raise ServerConfigError(
            f"{ENV_PREFIX}TRACKING_SERVER_BACKEND_URI is not a PostgreSQL database URI "
            f"({mask_credentials(settings.tracking_server_backend_uri)}): nothing to create"
        )
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            ).scalar()
            if exists:
                return False
            quoted = connection.dialect.identifier_preparer.quote(url.database)
            connection.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        engine.dispose()


def describe(settings: Settings) -> str:
    """One line saying where the server listens and stores: no password."""
    backend = mask_credentials(settings.tracking_server_backend_uri)
    scheme = urlsplit(settings.tracking_server_artifacts).scheme or "folder"
    return (
        f"MLflow tracking server on http://{settings.tracking_server_host}:"
        f"{settings.tracking_server_port} (runs: {backend}; artifacts: {scheme} "
        f"{settings.tracking_server_artifacts})"
    )
