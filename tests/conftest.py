"""Fixtures for baking the template, and the helpers every test of a baked project shares.

The end-to-end tests' shared bake and the states it is put in (trained, served, a newer version) are fixtures
of `tests/e2e.py`, loaded here as a plugin so every test file can ask for them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.client import HTTPException
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT: dict[str, object] = json.loads((TEMPLATE / "cookiecutter.json").read_text())
CHOICES: dict[str, list[str]] = {k: v for k, v in CONTEXT.items() if isinstance(v, list)}
DEFAULTS: dict[str, str] = {k: v[0] for k, v in CHOICES.items()}

Bake = Callable[..., Path]

pytest_plugins = ["tests.e2e"]


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--reverse`: run the tests backwards, to show that none needs another to have run first."""
    parser.addoption(
        "--reverse", action="store_true", help="run the collected tests in reverse order"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Reverse the collected tests when asked to."""
    if config.getoption("--reverse"):
        items.reverse()


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


def http(url: str, payload: Any = None) -> tuple[int, Any]:
    """GET or POST JSON; return the status and the decoded body (errors included)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_for(url: str, seconds: float = 90) -> bytes:
    """Poll a URL until it answers 200 (a server starting up); return the body of that answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except (OSError, HTTPException):  # not listening yet, or cut off mid-answer
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds:.0f}s")


@contextmanager
def background_server(
    command: Sequence[str | Path], ready_url: str, seconds: float = 30
) -> Iterator[None]:
    """A server started for a test: wait until `ready_url` answers, stop it afterwards, whatever happened."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(ready_url, seconds)
        yield
    finally:
        process.terminate()
        process.wait(30)


def debian_mirror() -> list[str]:
    """The Debian mirror apt uses, read from its sources (never written down), as debootstrap's last argument.

    Empty on a host whose apt has no Debian sources (Ubuntu, GitHub's runners): debootstrap then uses its own
    default mirror.
    """
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in sources.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#"
            )
            if "bookworm" in fields.get("Suites", "").split() and "URIs" in fields:
                return [fields["URIs"].split()[0]]
    sources_list = Path("/etc/apt/sources.list")
    for line in sources_list.read_text().splitlines() if sources_list.exists() else []:
        parts = line.split()
        if parts[:1] == ["deb"] and "bookworm" in parts and "security" not in line:
            return [next(part for part in parts[1:] if "://" in part)]
    return []


def project_env() -> dict[str, str]:
    """The environment a baked project's make runs in: this venv's Poetry on PATH, no active venv.

    Python writes bytecode, as on a laptop: where PYTHONDONTWRITEBYTECODE is set (CI images set it), the bake's
    `make install` compiles its whole .venv instead (28 of its 63 seconds here), which the shared bake still
    does (`tests/e2e.py`), while bytecode written on first import costs the first `make train` 7 seconds.
    """
    unset = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in unset}
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


def project_python(project: Path, code: str) -> Any:
    """Run Python in the baked project's venv; the code prints one JSON document."""
    completed = subprocess.run(
        [project / ".venv/bin/python", "-c", code],
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
