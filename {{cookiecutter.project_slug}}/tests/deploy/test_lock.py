"""Tests for the deploy lock: one deploy command at a time per project, across real processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.deploy import lock, strategies
from {{ cookiecutter.package_name }}.deploy.lock import DeployBusyError
from {{ cookiecutter.package_name }}.settings import Settings

HOLD = """
import sys, time
from pathlib import Path
from {{ cookiecutter.package_name }}.deploy.lock import deploy_lock
from {{ cookiecutter.package_name }}.settings import Settings

with deploy_lock(Settings(_env_file=None, project_root=Path(sys.argv[1]))):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.fixture
def holder(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """Another process of the project, holding the deploy lock as a running `make deploy` does."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(settings.project_root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    yield process
    process.kill()
    process.wait()


def test_a_second_command_waits_then_names_the_one_running(
    settings: Settings, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another deploy holds the lock, a command fails after the wait, naming that process."""
    monkeypatch.setattr(lock, "WAIT_SECONDS", 0.5)
    with pytest.raises(DeployBusyError, match=rf"another deploy is running \(pid {holder.pid}\)"):
        strategies.stop(settings)


def test_the_lock_is_free_again_once_its_holder_is_gone(
    settings: Settings, holder: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A holder killed with SIGKILL leaves no stale lock: the operating system releases it."""
    monkeypatch.setattr(lock, "WAIT_SECONDS", 5.0)
    holder.kill()
    holder.wait()
    assert strategies.stop(settings) is False, "the command ran: no server was running"
    assert not (Path(settings.mlflow_dir) / "deploy" / "deploy.lock.pid").exists()
