"""Shared fixtures: an isolated project folder, settings built for it, loguru bridged to caplog."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from {{ cookiecutter.package_name }}.project import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own settings out of every test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (a pyproject.toml naming this project), as the current directory."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def settings(project_dir: Path) -> Settings:
    """Settings rooted in the temporary project, read from no .env file."""
    return Settings(_env_file=None, project_root=project_dir)


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Let caplog see loguru records too."""
    handler_id = logger.add(caplog.handler, format="{message}", level=0)
    yield caplog
    with contextlib.suppress(ValueError):  # configure_logging in the test already removed it
        logger.remove(handler_id)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo a test's configure_logging so sinks never leak into the next test."""
    root_handlers = logging.getLogger().handlers[:]
    yield
    logging.getLogger().handlers = root_handlers
    logger.remove()
    logger.add(sys.stderr)
