"""What a server worker serves, and how it changes model without a restart (see plan.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loguru import logger

from ..model.export import load_exported
from ..model.load import load_model
from ..model.loaded import LoadedModel
from ..settings import Settings
from ..tracking.store import CHALLENGER, CHAMPION
from .payloads import frame_from_json
from .plan import Plan, reports_folder, write_report

POLL_SECONDS = 0.25
# Loaded versions a worker keeps: a rollback or canary abort to one of them is instant.
MODELS_KEPT = 4


def share_of(request_id: str | None) -> float:
    """A request's place in [0, 100): fixed for a request id, so a client can be pinned; else random."""
    if request_id:
        return zlib.crc32(request_id.encode()) % 10_000 / 100
    return random.random() * 100


@dataclass(frozen=True)
class Routes:
    """The models a worker serves now: replaced as a whole, never changed in place."""

    champion: LoadedModel
    challenger: LoadedModel | None = None
    percent: float = 0.0
    generation: int = 0

    def pick(self, request_id: str | None) -> tuple[LoadedModel, str]:
        """The model (and its alias) that answers a request."""
        if self.challenger is not None and share_of(request_id) < self.percent:
            return self.challenger, CHALLENGER
        return self.champion, self.champion.alias or CHAMPION

    def describe(self) -> dict[str, Any]:
        """What /health and the worker reports say about the routes."""
        challenger = self.challenger
        return {
            "version": self.champion.version,
            "alias": self.champion.alias or CHAMPION,
            "challenger": (
                None
                if challenger is None
                else {"version": challenger.version, "percent": self.percent}
            ),
            "generation": self.generation,
        }


class CheckFailedError(RuntimeError):
    """A loaded version did not answer its own serving example."""


def check(model: LoadedModel) -> None:
    """Score the version's serving example: a model that cannot is never served."""
    if model.serving_example is None:
        raise CheckFailedError(f"version {model.version} has no serving example to check it with")
    try:
        frame = frame_from_json(model.serving_example, list(model.columns))
        predictions = model.predict(frame)
    except Exception as error:
        raise CheckFailedError(
            f"version {model.version} failed its serving example: {error}"
        ) from error
    if len(predictions) != len(frame):
        raise CheckFailedError(
            f"version {model.version} answered {len(predictions)} predictions for "
            f"{len(frame)} rows of its serving example"
        )


class StalePlanError(RuntimeError):
    """The plan file holds an older generation than the worker applied: it is ignored."""


class Router:
    """A worker's routes, and the plan they follow."""

    def __init__(
        self,
        routes: Routes,
        plan_file: Path | None = None,
        loader: Callable[[str], LoadedModel] | None = None,
    ) -> None:
        self.routes = routes
        self.plan_file = plan_file
        self.load = loader
        self.models: dict[str, LoadedModel] = {routes.champion.version: routes.champion}
        self.listeners: list[Callable[[Routes], None]] = []
        self.seen = self._stamp()
        self.follow_error: str | None = (
            None  # why the plan file cannot be followed now, said in /health
        )

    @classmethod
    def start(cls, settings: Settings, plan_file: Path | None = None) -> Router:
        """The worker's router: an exported model folder, the plan's versions, or the served alias."""

        def loader(version: str) -> LoadedModel:
            return load_model(settings, alias=None, version=version)

        if settings.serve_model_dir is not None:  # an image: the model inside it, nothing to follow
            return cls(Routes(load_exported(settings.serve_model_dir)))
        # The file's identity is taken before it is read: a plan written while this worker loads the one it
        # read has another identity, so `follow` applies it (a respawned worker misses no deploy).
        seen = stamp_of(plan_file)
        plan = Plan.read(plan_file) if plan_file else None
        if plan is None:  # served by hand (`serve`): the alias, no plan to follow
            return cls(Routes(load_model(settings, alias=settings.serve_alias)))
        champion = loader(plan.champion)
        check(champion)
        router = cls(Routes(champion), plan_file, loader)
        router.routes = router.build(plan)
        router.seen = seen
        router.report(ok=True)
        return router

    @property
    def reports_dir(self) -> Path | None:
        """Where the workers say what they serve (beside the plan)."""
        return None if self.plan_file is None else reports_folder(self.plan_file)

    def model(self, version: str) -> LoadedModel:
        """A version, loaded and checked once; the few most recent are kept."""
        if version not in self.models:
            if self.load is None:
                raise CheckFailedError(
                    f"version {version} is not loaded, and this server loads none"
                )
            model = self.load(version)
            check(model)
            self.models[version] = model
        self.models[version] = self.models.pop(version)  # most recently used last
        while len(self.models) > MODELS_KEPT:
            self.models.pop(next(iter(self.models)))
        return self.models[version]

    def build(self, plan: Plan) -> Routes:
        """Load and check the plan's versions (nothing is served from them yet)."""
        champion = self.model(plan.champion)
        challenger = self.model(plan.challenger) if plan.challenger else None
        percent = plan.percent if challenger is not None else 0.0
        return Routes(champion, challenger, percent, plan.generation)

    async def follow(self) -> None:
        """Poll the plan file and apply each new plan; runs for the worker's lifetime, whatever fails."""
        while True:
            await asyncio.sleep(POLL_SECONDS)
            try:
                await self.follow_once()
            except (
                Exception
            ) as error:  # an unreadable plan, a full disk: log it, say it, keep following
                if str(error) != self.follow_error:
                    logger.error("cannot follow the deploy plan: {}", error)
                self.follow_error = str(error)

    async def follow_once(self) -> None:
        """Apply the plan file if it changed since it was last read.

        A plan that cannot be read raises PlanError; one older than the routes raises StalePlanError and is
        reported as refused (a deploy waiting for it fails at once instead of timing out).
        """
        stamp = self._stamp()
        if stamp == self.seen:
            return
        plan = Plan.read(self.plan_file) if self.plan_file else None
        self.seen, self.follow_error = stamp, None
        if plan is None or plan.generation == self.routes.generation:
            return
        if plan.generation < self.routes.generation:  # generations only grow: never go back to one
            error = (
                f"{self.plan_file}: plan {plan.generation} is older than plan "
                f"{self.routes.generation} this worker applied; ignored (generations only grow)"
            )
            self.report(ok=False, generation=plan.generation, error=error)
            raise StalePlanError(error)
        await self.apply(plan)

    async def apply(self, plan: Plan) -> None:
        """Load the plan's versions off the event loop, then swap the routes in one assignment."""
        loop = asyncio.get_running_loop()
        try:
            routes = await loop.run_in_executor(None, self.build, plan)
        except Exception as error:
            logger.error("plan {} not applied: {}", plan.generation, error)
            self.report(ok=False, generation=plan.generation, error=str(error))
            return
        self.routes = routes
        for listener in self.listeners:
            listener(routes)
        logger.info("serving {}", routes.describe())
        self.report(ok=True)

    def report(self, ok: bool, generation: int | None = None, error: str | None = None) -> None:
        """Say what this worker serves now, and whether the last plan failed."""
        if self.reports_dir is None:
            return
        report = {
            **self.routes.describe(),
            "pid": os.getpid(),
            "ok": ok,
            "generation": self.routes.generation if generation is None else generation,
            "applied": self.routes.generation,  # what it serves: the next plan must be newer than this
            "error": error,
        }
        write_report(self.reports_dir, report)

    def _stamp(self) -> tuple[int, int] | None:
        """The plan file's identity now (see stamp_of)."""
        return stamp_of(self.plan_file)


def stamp_of(plan_file: Path | None) -> tuple[int, int] | None:
    """A plan file's identity: each write replaces the file, so a new inode or time means a new plan."""
    if plan_file is None:
        return None
    with contextlib.suppress(FileNotFoundError):
        status = plan_file.stat()
        return status.st_ino, status.st_mtime_ns
    return None
