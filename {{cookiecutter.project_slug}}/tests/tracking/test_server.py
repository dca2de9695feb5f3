"""Tests for the team's tracking server command, the reachability check and the spool command."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.names import DEFAULT_TRACKING_URI, DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.server import (
    ServerConfigError,
    create_database,
    server_command,
)
from {{ cookiecutter.package_name }}.tracking.store import ServerUnreachableError, connect


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_bake_default_is_the_tracking_answer(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the setting, runs go where the bake's tracking answer says."""
    monkeypatch.delenv(f"{ENV_PREFIX}TRACKING_URI")

    assert Settings(_env_file=None).tracking_uri == DEFAULT_TRACKING_URI


def test_an_empty_tracking_uri_is_the_embedded_store(settings: Settings) -> None:
    """`KEY=` means unset: the embedded sqlite store."""
    assert settings.tracking_uri is None
    assert not settings.tracking_server
    assert settings.resolved_tracking_uri.startswith("sqlite:///")


def test_the_server_command_keeps_the_password_off_the_command_line(project_dir: Path) -> None:
    """The backend URI goes through the environment; loopback gets loopback host names."""
    settings = Settings(
        _env_file=None,
        tracking_server_backend_uri="postgresql+psycopg://mlflow:s3cret@db:5432/mlflow",
        tracking_server_port=5123,
    )

    argv, env = server_command(settings)

    assert "s3cret" not in " ".join(argv)
    assert env == {"MLFLOW_BACKEND_STORE_URI": settings.tracking_server_backend_uri}
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    assert argv[argv.index("--allowed-hosts") + 1].split(",")[:2] == [
        "127.0.0.1:5123",
        "localhost:5123",
    ]
    artifacts = Path(argv[argv.index("--artifacts-destination") + 1])
    assert artifacts.is_dir()
    assert artifacts.is_relative_to(project_dir)
    assert "--app-name" not in argv


def test_an_object_store_destination_and_the_auth_app_are_passed_on(project_dir: Path) -> None:
    """An s3:// destination is passed as is; the auth setting adds MLflow's basic-auth app."""
    settings = Settings(
        _env_file=None, tracking_server_artifacts="s3://team/mlflow", tracking_server_auth=True
    )

    argv, _ = server_command(settings)

    assert argv[argv.index("--artifacts-destination") + 1] == "s3://team/mlflow"
    assert argv[-2:] == ["--app-name", "basic-auth"]


def test_a_network_bound_server_needs_its_host_names(project_dir: Path) -> None:
    """Bound to a network address, the server refuses to start without allowed host names."""
    settings = Settings(_env_file=None, tracking_server_host="0.0.0.0")

    with pytest.raises(ServerConfigError, match=f"{ENV_PREFIX}TRACKING_SERVER_ALLOWED_HOSTS"):
        server_command(settings)

    named = Settings(
        _env_file=None, tracking_server_host="0.0.0.0", tracking_server_allowed_hosts="ml.corp"
    )
    argv, _ = server_command(named)
    assert argv[argv.index("--allowed-hosts") + 1] == "ml.corp"


def test_only_a_postgresql_database_is_created(project_dir: Path) -> None:
    """`tracking db` names the key when the backend is not PostgreSQL."""
    settings = Settings(_env_file=None, tracking_server_backend_uri="sqlite:///runs.db")

    with pytest.raises(ServerConfigError, match="not a PostgreSQL database URI"):
        create_database(settings)


def test_an_unreachable_server_fails_fast_naming_it_without_credentials(project_dir: Path) -> None:
    """A dead server fails in seconds, masked, with the fix."""
    uri = f"http://ana:hunter2@127.0.0.1:{closed_port()}"
    settings = Settings(_env_file=None, tracking_uri=uri)

    started = time.monotonic()
    with pytest.raises(ServerUnreachableError) as unreachable:
        connect(settings)

    assert time.monotonic() - started < 10
    message = str(unreachable.value)
    assert "hunter2" not in message
    assert "ana:***@127.0.0.1" in message
    assert "make tracking-server" in message
    assert f"{ENV_PREFIX}TRACKING_URI" in message


def test_a_command_against_an_unreachable_server_is_one_line(
    project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line reports a dead server in one line, no traceback."""
    monkeypatch.setenv(f"{ENV_PREFIX}TRACKING_URI", f"http://127.0.0.1:{closed_port()}")
    (project_dir / "params.yaml").write_text("task: {{ cookiecutter.task }}\n")

    completed = subprocess.run(
        [DISTRIBUTION, "ui"], capture_output=True, text=True, cwd=project_dir, timeout=60
    )

    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "does not answer (connection refused)" in completed.stderr


def test_sync_with_an_empty_spool_says_so(project_dir: Path) -> None:
    """`tracking sync` with nothing spooled says so and succeeds."""
    completed = subprocess.run(
        [DISTRIBUTION, "tracking", "sync"],
        capture_output=True,
        text=True,
        cwd=project_dir,
        check=True,
    )

    assert "nothing to sync" in completed.stdout


def test_creating_the_database_never_shows_its_password(project_dir: Path) -> None:
    """`tracking db` against a database that is not there fails in one line, the password masked."""
    backend = f"postgresql+psycopg://mlflow:hunter2@127.0.0.1:{closed_port()}/runs"
    (project_dir / ".env").write_text(f"{ENV_PREFIX}TRACKING_SERVER_BACKEND_URI={backend}\n")

    completed = subprocess.run(
        [DISTRIBUTION, "tracking", "db"], capture_output=True, text=True, cwd=project_dir
    )

    assert completed.returncode == 1
    assert "hunter2" not in completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    if importlib.util.find_spec("psycopg") is None:  # a local bake: the driver is not installed
        assert "poetry add 'psycopg[binary]'" in completed.stderr
    else:
        masked = "postgresql+psycopg://mlflow:***@127.0.0.1"
        assert f"cannot reach PostgreSQL for {masked}" in completed.stderr
