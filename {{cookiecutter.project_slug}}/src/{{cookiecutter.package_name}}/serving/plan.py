"""The control channel between the deploy commands and a running server: the plan, its names, worker reports.

The deploy commands write a plan (`plan.json` in the project's deploy folder, replaced atomically): the
champion's version and, during a canary, a challenger with its share of the requests. Every worker polls
the file, loads a new plan's versions beside the ones it serves, checks each with the version's own serving
example, and then swaps its routes in one assignment: requests in flight finish on the model they started
with. A worker that cannot load or check a version keeps serving what it served. Each worker reports what it
did in `workers/<pid>.json`, which the deploy command waits for. The file is the only control channel:
nothing about it is reachable over HTTP, and only the project folder's owner can write it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..files import write_json_atomically
from ..names import ENV_PREFIX, PACKAGE

# The app factory uvicorn imports in each worker (a server with several workers cannot be handed an app object).
FACTORY = f"{PACKAGE}.serving.app:app_from_environment"
# The per-start secret the server echoes in /health: proof that the answer comes from the child just started.
INSTANCE_VARIABLE = f"{ENV_PREFIX}SERVER_INSTANCE"
# The deploy plan the server's workers follow: how deploys reach a running server.
PLAN_VARIABLE = f"{ENV_PREFIX}SERVER_PLAN"


class PlanError(ProjectError, ValueError):
    """The plan file exists but is not a plan; the message names it."""


@dataclass(frozen=True)
class Plan:
    """What the server should serve; each change has a higher generation."""

    generation: int
    champion: str
    challenger: str | None = None
    percent: float = 0.0

    @classmethod
    def read(cls, path: Path) -> Plan | None:
        """The plan in `path`, or None when there is none; PlanError when it cannot be read as one."""
        try:
            content = json.loads(path.read_text())
            plan = cls(**content)
        except FileNotFoundError:
            return None
        except (
            OSError,
            ValueError,
            TypeError,
        ) as error:  # cut short, edited by hand, another format
            raise PlanError(
                f"{path}: the deploy plan cannot be read ({type(error).__name__}: {str(error)[:80]})"
            ) from None
        if not isinstance(plan.generation, int) or not isinstance(plan.champion, str):
            raise PlanError(f"{path}: the deploy plan has no generation number and champion")
        return plan

    def write(self, path: Path) -> None:
        """Replace the plan file in one step: a worker never reads half a plan."""
        write_json_atomically(path, asdict(self))


def reports_folder(plan_file: Path) -> Path:
    """Where the workers following `plan_file` report what they serve: beside it."""
    return plan_file.parent / "workers"


def write_report(folder: Path, report: Mapping[str, Any]) -> None:
    """Replace this worker's report (`<pid>.json`) in one step: the deploy command never reads half of one."""
    write_json_atomically(folder / f"{os.getpid()}.json", dict(report))


def read_reports(folder: Path) -> list[dict[str, Any]]:
    """Every worker's last report in `folder`; a report replaced or removed while read is skipped."""
    reports = []
    for file in sorted(folder.glob("*.json")):
        with contextlib.suppress(FileNotFoundError, ValueError):
            reports.append(json.loads(file.read_text()))
    return reports
