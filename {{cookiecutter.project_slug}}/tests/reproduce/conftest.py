"""Fixtures for the reproduce tests: the shipped params.yaml's text."""

from __future__ import annotations

from pathlib import Path

import pytest

PARAMS_FILE = Path(__file__).parents[2] / "params.yaml"


@pytest.fixture(scope="session")
def params_text() -> str:
    """The params.yaml shipped with the project, as text."""
    return PARAMS_FILE.read_text(encoding="utf-8")
