"""The FastAPI application serving one registered model version."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.
import asyncio
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, cast

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from threadpoolctl import threadpool_limits

from ..inference import InputError, LoadedModel, load_model, widened
from ..settings import Settings, load_settings
from .lifecycle import INSTANCE_VARIABLE
from .payloads import frame_from_body

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


def error(status: int, message: str, field: str | None = None) -> JSONResponse:
    """A client error in one shape: what went wrong and, when known, which field."""
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    if field is not None and len(field) > 100:
        field = field[:97] + "..."
    return JSONResponse({"error": message, "field": field}, status_code=status)


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
    settings: Settings, model: LoadedModel | None = None, instance: str | None = None
) -> FastAPI:
    """Build the app around a loaded model (the champion by default).

    /docs and /redoc load their scripts and styles from the server itself (fastapi-offline), not from a CDN:
    a model server in a hospital or a bank has no internet, and the page would be blank there.
    """
    loaded = model or load_model(settings, alias=settings.serve_alias)
    app = FastAPIOffline(
        title=f"{loaded.name} model server",
        version=loaded.version,
        description=f"Serves {loaded.name} version {loaded.version} (alias: {loaded.alias}).",
    )
    app.add_middleware(BodyLimit, limit=settings.serve_max_body_bytes)

    @app.exception_handler(BodyTooLarge)
    async def body_too_large(_request: Request, problem: BodyTooLarge) -> Response:
        return error(problem.status_code, str(problem.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, problem: RequestValidationError) -> Response:
        # FastAPI's default 422 repeats every offending value: with 10,000 typed rows, the request comes back.
        return error(422, *describe_invalid(problem.errors()))

    scoring = scoring_thread(settings.serve_threads)
    add_health(app, loaded, instance)
    add_invocations(app, loaded, settings.serve_max_rows, scoring)
    add_predict(app, loaded, settings.serve_max_rows, scoring)
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


def add_health(app: FastAPI, loaded: LoadedModel, instance: str | None) -> None:
    """GET /health: the model being served, for how long, and (under `server start`) which instance."""
    started = time.monotonic()

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The model being served and for how long (and, when started by `server start`, which instance)."""
        return {
            "status": "ok",
            "model": loaded.name,
            "version": loaded.version,
            "alias": loaded.alias,
            "uptime_seconds": round(time.monotonic() - started, 3),
            "instance": instance,
        }


def add_invocations(
    app: FastAPI, loaded: LoadedModel, max_rows: int, scoring: ThreadPoolExecutor
) -> None:
    """POST /invocations: MLflow's scoring protocol."""
    columns = list(loaded.columns)

    def score(body: bytes, content_type: str) -> list[Any]:
        frame = frame_from_body(body, content_type, columns)
        if len(frame) > max_rows:
            raise TooManyRowsError(max_rows)
        return loaded.predict(frame)

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: the same payloads and answers as `mlflow models serve`."""
        body = await request.body()  # BodyLimit refuses it past the size limit while it arrives
        try:
            # Parsing and math run off the event loop, in one hop: a large batch must not stall
            # /health and the other clients.
            content_type = request.headers.get("content-type", "")
            loop = asyncio.get_running_loop()
            predictions = await loop.run_in_executor(scoring, score, body, content_type)
        except TooManyRowsError as problem:
            return error(413, str(problem))
        except InputError as problem:
            return error(400, str(problem), problem.field)
        except (
            ValueError,
            TypeError,
        ) as problem:  # the model rejected values the signature allowed
            return error(400, f"the model cannot score these rows: {problem}")
        return JSONResponse({"predictions": predictions})


def add_predict(
    app: FastAPI, loaded: LoadedModel, max_rows: int, scoring: ThreadPoolExecutor
) -> None:
    """POST /predict: typed rows, validated against the model's signature (and listed in /docs)."""
    columns = list(loaded.columns)
    row = row_model(loaded)
    request_model = create_model(
        "PredictRequest",
        rows=(list[row], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )

    @app.post("/predict")
    async def predict(body: request_model) -> dict[str, Any]:
        """Typed rows in, predictions out; /docs lists the model's input fields."""
        import pandas as pd

        rows = [item.model_dump() for item in body.rows]  # type: ignore[attr-defined]
        try:
            frame = pd.DataFrame.from_records(rows, columns=columns)
            loop = asyncio.get_running_loop()
            predictions = await loop.run_in_executor(scoring, loaded.predict, frame)
        except InputError as problem:
            return error(422, str(problem), problem.field)  # type: ignore[return-value]
        return {"predictions": predictions, "model": loaded.name, "version": loaded.version}


def app_from_environment() -> FastAPI:
    """Uvicorn factory: the app for the settings of the environment (`uvicorn --factory`)."""
    from ..logging import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings, instance=os.environ.get(INSTANCE_VARIABLE))
