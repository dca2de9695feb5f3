"""The FastAPI application serving a registered model: its champion, and during a canary a challenger."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.
import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, cast

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from ..model.loaded import InputError, LoadedModel, widened
from ..settings import Settings, load_settings
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Instrumented, Metrics
from .payloads import frame_from_body
from .plan import INSTANCE_VARIABLE, PLAN_VARIABLE
from .request_log import RequestLog
from .routing import Router, Routes

PYTHON_TYPES: dict[str, type] = {
    "float64": float,
    "float32": float,
    "int64": int,
    "int32": int,
    "bool": bool,
    "object": str,
}


def row_model(model: LoadedModel) -> type[BaseModel]:
    """A pydantic model of one input row: the signature's columns and types, and the data contract.

    A text column with categories takes only those (an enum in /docs), a number its range; a column that had
    missing values in training accepts null.
    """
    fields: dict[str, Any] = {}
    for name, dtype in model.columns.items():
        rule = model.rules.get(name, {})
        kind: Any = PYTHON_TYPES[dtype]
        if "categories" in rule:
            kind = cast(Any, Literal)[tuple(rule["categories"])]
        if name in model.nullable:
            kind = kind | None
        low, high = (rule.get("min"), rule.get("max"))  # whole numbers travel through JSON exactly
        if "min" in rule and PYTHON_TYPES[dtype] is float:
            low, high = widened(rule["min"], rule["max"])
        fields[name] = (kind, Field(..., ge=low, le=high))
    return create_model("Row", __config__=ConfigDict(extra="forbid", strict=False), **fields)


MESSAGE_LIMIT = 300  # characters of an error message: a small request never gets a large error back


def error(
    status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A client error in one shape: what went wrong and, when known, which field."""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    if field is not None and len(field) > 100:
        field = field[:97] + "..."
    return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)


def describe_invalid(problems: Sequence[Any]) -> tuple[str, str | None]:
    """The first validation problem of a request (where and what, never the value), and how many more."""
    if not problems:
        return "invalid request", None
    where = [str(part) for part in problems[0].get("loc", ()) if part != "body"]
    message = f"{'.'.join(where) or 'body'}: {problems[0].get('msg', 'invalid')}"
    if len(problems) > 1:
        message += f" (and {len(problems) - 1} more problems)"
    return message, where[-1] if where else None


class BodyTooLarge(HTTPException):
    """The request body grew past the limit while it was received."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body larger than {limit} bytes")


class TooManyRowsError(Exception):
    """A batch with more rows than the server takes."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")


class BodyLimit:
    """ASGI middleware: refuse a body past `limit` bytes as it arrives, with or without Content-Length.

    Counting in `receive` holds for every route, including the typed ones FastAPI reads itself.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that counts the body's bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            refused = BodyTooLarge(self.limit)
            await error(refused.status_code, refused.detail)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


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
    loaded = router.routes.champion

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        following = asyncio.create_task(router.follow()) if router.plan_file else None
        yield
        if following is not None:
            following.cancel()

    app = FastAPIOffline(
        title=f"{loaded.name} model server",
        version=loaded.version,
        description=(
            f"Serves {loaded.name}: the champion, and during a canary a challenger. Every answer names "
            "the version that gave it (X-Model-Version, X-Model-Alias); send X-Request-ID to be "
            "routed the same way every time."
        ),
        lifespan=lifespan,
    )
    metrics = Metrics(classifier=hasattr(loaded.native, "predict_proba"))
    app.add_middleware(BodyLimit, limit=settings.serve_max_body_bytes)
    if settings.serve_metrics:
        app.add_middleware(Instrumented, metrics=metrics)
        add_metrics(app, metrics)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(_request: Request, problem: BodyTooLarge) -> Response:
        return error(problem.status_code, str(problem.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, problem: RequestValidationError) -> Response:
        # FastAPI's default 422 repeats every offending value: with 10,000 typed rows, the request comes back.
        return error(422, *describe_invalid(problem.errors()))

    scorer = Scorer(
        scoring_thread(settings.serve_threads),
        metrics if settings.serve_metrics else None,
        RequestLog(
            settings.log_dir, settings.serve_request_log_rate, settings.serve_request_log_rows
        ),
    )
    app.state.router = router
    add_health(app, router, instance)
    add_invocations(app, router, settings.serve_max_rows, scorer)
    add_predict(app, router, settings.serve_max_rows, scorer)
    return app


def scoring_thread(math_threads: int) -> ThreadPoolExecutor:
    """The one thread that parses and scores requests, off the event loop so /health always answers.

    OpenMP's thread count is set per calling thread, so the limit is applied in this thread itself: small
    online batches are about 3x faster on one math thread than after waking a pool.
    """
    return ThreadPoolExecutor(
        max_workers=1,
        thread_name_prefix="scoring",
        initializer=threadpool_limits,
        initargs=(math_threads,),
    )


def model_headers(model: LoadedModel, alias: str) -> dict[str, str]:
    """The headers naming the version that answered."""
    return {"X-Model-Version": model.version, "X-Model-Alias": alias}


class Scorer:
    """Scores in the scoring thread, and records what it scored (metrics, sampled request log)."""

    def __init__(
        self, thread: ThreadPoolExecutor, metrics: Metrics | None, log: RequestLog
    ) -> None:
        self.thread = thread
        self.metrics = metrics
        self.log = log

    async def __call__(
        self, model: LoadedModel, alias: str, frame: Callable[[], pd.DataFrame]
    ) -> list[Any]:
        """Build the frame and predict off the event loop, in one hop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.thread, self.score, model, alias, frame)

    def score(self, model: LoadedModel, alias: str, frame: Callable[[], pd.DataFrame]) -> list[Any]:
        """Predict, then count the rows and predictions, and log a sample of them."""
        rows = frame()
        predictions = model.predict(rows)
        if self.metrics is not None:
            self.metrics.scored(model.version, alias, predictions)
        if self.log.sample():
            self.log.write(rows, predictions, model.version, alias)
        return predictions


def add_health(app: FastAPI, router: Router, instance: str | None) -> None:
    """GET /health: the versions being served, for how long, and (under `server start`) which instance."""
    started = time.monotonic()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The champion's version (and a challenger's), for how long, and which server instance."""
        return {
            "status": "ok",
            "model": router.routes.champion.name,
            **router.routes.describe(),
            "uptime_seconds": round(time.monotonic() - started, 3),
            "instance": instance,
        }


def add_metrics(app: FastAPI, metrics: Metrics) -> None:
    """GET /metrics: Prometheus' text format, every worker's samples added up."""

    @app.get("/metrics", include_in_schema=False)
    async def exposition() -> Response:
        return Response(metrics.exposition(), media_type=METRICS_CONTENT_TYPE)


def add_invocations(app: FastAPI, router: Router, max_rows: int, scorer: Scorer) -> None:
    """POST /invocations: MLflow's scoring protocol."""

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: the same payloads and answers as `mlflow models serve`."""
        model, alias = router.routes.pick(request.headers.get("x-request-id"))
        headers = model_headers(model, alias)
        body = await request.body()  # BodyLimit refuses it past the size limit while it arrives
        content_type = request.headers.get("content-type", "")
        columns = list(model.columns)

        def parsed() -> pd.DataFrame:
            frame = frame_from_body(body, content_type, columns)
            if len(frame) > max_rows:
                raise TooManyRowsError(max_rows)
            return frame

        try:
            # Parsing and math run off the event loop: a large batch must not stall /health and the others.
            predictions = await scorer(model, alias, parsed)
        except TooManyRowsError as problem:
            return error(413, str(problem), headers=headers)
        except InputError as problem:
            return error(400, str(problem), problem.field, headers=headers)
        except (
            ValueError,
            TypeError,
        ) as problem:  # the model rejected values the signature allowed
            return error(400, f"the model cannot score these rows: {problem}", headers=headers)
        return JSONResponse({"predictions": predictions}, headers=headers)


def add_predict(app: FastAPI, router: Router, max_rows: int, scorer: Scorer) -> None:
    """POST /predict: typed rows, validated against the champion's signature (and listed in /docs).

    When a swap brings a champion with other columns or another data contract, the route is rebuilt.
    """

    def install(champion: LoadedModel) -> None:
        row = row_model(champion)
        request_model = create_model(
            "PredictRequest",
            rows=(list[row], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
        )

        async def predict(body: request_model, request: Request) -> Response:
            """Typed rows in, predictions out; /docs lists the model's input fields."""
            model, alias = router.routes.pick(request.headers.get("x-request-id"))
            headers = model_headers(model, alias)
            rows = [item.model_dump() for item in body.rows]  # type: ignore[attr-defined]
            columns = list(model.columns)
            try:
                predictions = await scorer(
                    model, alias, lambda: pd.DataFrame.from_records(rows, columns=columns)
                )
            except InputError as problem:
                return error(422, str(problem), problem.field, headers=headers)
            answer = {"predictions": predictions, "model": model.name, "version": model.version}
            return JSONResponse(answer, headers=headers)

        app.router.routes[:] = [
            route for route in app.router.routes if getattr(route, "path", None) != "/predict"
        ]
        app.add_api_route("/predict", predict, methods=["POST"])
        app.openapi_schema = None  # /docs shows the new fields

    def contract(model: LoadedModel) -> Any:
        return (model.columns, model.rules, model.nullable)

    installed = [contract(router.routes.champion)]
    install(router.routes.champion)

    def on_swap(routes: Routes) -> None:
        if contract(routes.champion) != installed[0]:
            install(routes.champion)
            installed[0] = contract(routes.champion)

    router.listeners.append(on_swap)


def app_from_environment() -> FastAPI:
    """Uvicorn factory: the app for the settings of the environment (`uvicorn --factory`)."""
    from ..logging import configure_logging

    settings = load_settings()
    configure_logging(settings)
    plan = os.environ.get(PLAN_VARIABLE)
    return create_app(
        settings, instance=os.environ.get(INSTANCE_VARIABLE), plan_file=Path(plan) if plan else None
    )
