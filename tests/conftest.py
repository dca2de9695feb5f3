"""Fixtures for baking the template and for running a baked project's make targets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.index_url import package_index_url

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT: dict[str, object] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES: dict[str, list[str]] = {k: v for k, v in CONTEXT.items() if isinstance(v, list)}
DEFAULTS: dict[str, str] = {k: v[0] for k, v in CHOICES.items()}

Bake = Callable[..., Path]


@pytest.fixture
def bake(tmp_path: Path) -> Bake:
    """Bake the template with some answers (defaults otherwise, no git) and return the project."""

    def _bake(**answers: str) -> Path:
        context = {"init_git": "no", **answers}
        return Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context=context,
                output_dir=str(tmp_path / f"bake{len(list(tmp_path.iterdir()))}"),
            )
        )

    return _bake


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def project_env() -> dict[str, str]:
    """The environment a baked project's make runs in: this venv's Poetry on PATH, no active venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return env


def run_make(
    project: Path, *targets: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run make targets in a baked project; on failure show what make printed."""
    completed = subprocess.run(
        ["make", *targets],
        cwd=project,
        env={**project_env(), **(env or {})},
        capture_output=True,
        text=True,
    )
    if check:
        assert completed.returncode == 0, (
            f"make {' '.join(targets)} failed ({completed.returncode}):\n"
            f"{completed.stdout[-6000:]}\n{completed.stderr[-6000:]}"
        )
    return completed


@pytest.fixture(scope="session")
def installed_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A default bake, in git, installed once with `make install` for every end-to-end test."""
    out = tmp_path_factory.mktemp("e2e")
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context={"package_index_url": package_index_url()},
            output_dir=str(out),
        )
    )
    run_make(project, "install")
    yield project
    run_make(project, "undeploy", check=False)  # never leave a server behind, even after a failure
