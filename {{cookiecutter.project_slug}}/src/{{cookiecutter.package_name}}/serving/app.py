"""The FastAPI application serving a registered model: its champion, and during a canary a challenger."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from ..model.loaded import LoadedModel
from ..settings import Settings, load_settings
from .errors import BodyLimit, add_error_handlers
from .metrics import Instrumented, Metrics
from .plan import INSTANCE_VARIABLE, PLAN_VARIABLE
from .readiness import Readiness
from .request_log import RequestLog
from .routes import add_health, add_invocations, add_metrics, add_predict
from .routing import Router, Routes
from .scoring import Scorer, scoring_thread
from .v2_routes import add_v2


def create_app(
    settings: Settings,
    model: LoadedModel | None = None,
    instance: str | None = None,
    plan_file: Path | None = None,
    routes: Routes | None = None,
) -> FastAPI:
    """Build the app around `routes` or a `model` when given, else the deploy plan's, else the served alias.

    With a plan, the app follows it: a new champion or canary is swapped in without a restart (see routing).
    /docs and /redoc load their scripts and styles from the server itself (fastapi-offline), not from a CDN:
    a model server in a hospital or a bank has no internet, and the page would be blank there.
    """
    if routes is None and model is not None:
        routes = Routes(model)
    router = Router(routes) if routes else Router.start(settings, plan_file)
    readiness = Readiness()
    app = served_app(router, readiness)
    metrics = Metrics(classifier=hasattr(router.routes.champion.native, "predict_proba"))
    app.add_middleware(BodyLimit, limit=settings.serve_max_body_bytes)
    add_error_handlers(app)
    if settings.serve_metrics:
        app.add_middleware(Instrumented, metrics=metrics)
        add_metrics(app, metrics)
    scorer = Scorer(
        scoring_thread(settings.serve_threads),
        metrics if settings.serve_metrics else None,
        RequestLog(
            settings.log_dir,
            settings.serve_request_log_rate,
            settings.serve_request_log_rows,
            to=settings.serve_request_log,
        ),
    )
    app.state.router, app.state.readiness = router, readiness
    add_health(app, router, instance)
    add_invocations(app, router, settings.serve_max_rows, scorer)
    add_predict(app, router, settings.serve_max_rows, scorer)
    add_v2(app, router, readiness, settings.serve_max_rows, scorer)
    return app


def served_app(router: Router, readiness: Readiness) -> FastAPI:
    """An app described by the model it serves, following the router's plan while it runs."""
    loaded = router.routes.champion
    return FastAPIOffline(
        title=f"{loaded.name} model server",
        version=loaded.version,
        description=(
            f"Serves {loaded.name}: the champion, and during a canary a challenger. Every answer names "
            "the version that gave it (X-Model-Version, X-Model-Alias); send X-Request-ID to be "
            "routed the same way every time."
        ),
        lifespan=following(router, readiness),
    )


def following(
    router: Router, readiness: Readiness
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's lifespan: it checks the model for readiness, and the router follows its plan file (if any).

    The check runs beside the server, not before it: the server is live (it answers) while it becomes ready.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(readiness.check(router))]
        if router.plan_file:
            tasks.append(asyncio.create_task(router.follow()))
        yield
        for task in tasks:
            task.cancel()

    return lifespan


def app_from_environment() -> FastAPI:
    """Uvicorn factory: the app for the settings of the environment (`uvicorn --factory`)."""
    from ..logging import configure_logging

    settings = load_settings()
    configure_logging(settings)
    plan = os.environ.get(PLAN_VARIABLE)
    return create_app(
        settings, instance=os.environ.get(INSTANCE_VARIABLE), plan_file=Path(plan) if plan else None
    )
