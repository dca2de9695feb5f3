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
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
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
        problem: str | None
        try:
            content = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:  # cut short, edited by hand, another format
            problem = f"{type(error).__name__}: {excerpt(str(error))}"
        else:
            problem = fault_of(content)
        if problem is not None:
            raise PlanError(f"{path}: the deploy plan cannot be read ({problem})") from None
        return cls(
            generation=content["generation"],
            champion=content["champion"],
            challenger=content.get("challenger"),
            percent=float(content.get("percent", 0.0)),
        )

    def write(self, path: Path) -> None:
        """Replace the plan file in one step: a worker never reads half a plan."""
        write_json_atomically(path, asdict(self))


def fault_of(content: Any) -> str | None:
    """What keeps parsed JSON from being a plan, naming the first field at fault; None when it is one."""
    if not isinstance(content, dict):
        return f"a plan must be a mapping, not {shown(content)}"
    unknown = sorted(set(content) - {field.name for field in fields(Plan)})
    if unknown:
        return f"unknown field {excerpt(repr(unknown[0]), 40)}"
    for name in ("generation", "champion"):
        if name not in content:
            return f"{name} is missing"
    generation, champion = content["generation"], content["champion"]
    if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
        return f"generation must be a whole number of at least 0, not {shown(generation)}"
    if not isinstance(champion, str) or not champion:
        return f"champion must be a version (a string), not {shown(champion)}"
    challenger = content.get("challenger")
    if challenger is not None and (not isinstance(challenger, str) or not challenger):
        return f"challenger must be a version (a string) or null, not {shown(challenger)}"
    percent = content.get("percent", 0.0)
    number = isinstance(percent, int | float) and not isinstance(percent, bool)
    if not number or not math.isfinite(percent) or not 0 <= percent <= 100:
        return f"percent must be a number from 0 to 100, not {shown(percent)}"
    return None


def shown(value: Any) -> str:
    """A JSON value as a message names it: a number or constant as JSON spells it, else its type."""
    if value is None or isinstance(value, bool | int | float):
        return excerpt(json.dumps(value), 40)  # null, true, 7, NaN, Infinity
    if isinstance(value, str):
        return f"the string {excerpt(json.dumps(value), 40)}"
    if isinstance(value, dict):
        return "a mapping"
    return "a list" if isinstance(value, list) else type(value).__name__


def excerpt(text: str, limit: int = 80) -> str:
    """`text`, or its first whole words within `limit` characters and "...": never cut inside a word."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]  # one more: a space there ends the last word whole
    # One long word (a path) is cut where it must be: there is no better place.
    head = head.rsplit(" ", 1)[0] if " " in head else head[:limit]
    return head.rstrip(" ,;:") + "..."


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
