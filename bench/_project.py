"""Shared by the benchmarks: find the installed demo project and import its package."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PROJECT = REPO / "build/demo/tumor-classifier"
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DVC_NO_ANALYTICS": "1"}


def installed_project(path: Path) -> Path:
    """The project folder, checked to have been installed (`make demo` does that)."""
    project = path.resolve()
    if not (project / ".venv/bin/python").exists():
        raise SystemExit(f"{project}: no installed project here; run `make demo` first")
    return project


def run_in_project(path: Path) -> Path:
    """Check the project is installed, re-run this script with its interpreter if needed, quiet it."""
    project = installed_project(path)
    python = project / ".venv/bin/python"
    if Path(sys.prefix).resolve() != (project / ".venv").resolve():
        os.execv(python, [str(python), *sys.argv])
    os.environ.update(QUIET_ENV)
    return project


def package(project: Path) -> ModuleType:
    """Import the project's package (the one folder under src/)."""
    (name,) = [p.name for p in (project / "src").iterdir() if (p / "__init__.py").exists()]
    return importlib.import_module(name)


def project_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the benchmarks' common --project option."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--project", type=Path, default=DEFAULT_PROJECT)
    return parser


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds one command takes to run to completion (it must succeed)."""
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start
