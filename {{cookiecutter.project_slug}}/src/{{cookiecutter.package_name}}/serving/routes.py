"""The server's endpoints: /health, /metrics, /invocations (MLflow's protocol) and /predict (typed rows)."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from ..model.loaded import InputError, LoadedModel
from .errors import TooManyRowsError, error
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .payloads import frame_from_body
from .routing import Router, Routes
from .schema import contract, request_model
from .scoring import Scorer


def model_headers(model: LoadedModel, alias: str) -> dict[str, str]:
    """The headers naming the version that answered."""
    return {"X-Model-Version": model.version, "X-Model-Alias": alias}


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
            "plan_error": router.follow_error,  # set while this worker cannot follow the deploy plan
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

        def refuse(status: int, message: str, field: str | None) -> Response:
            return error(status, message, field, headers=headers)

        predictions = await scored(scorer, model, alias, parsed, refuse)
        if isinstance(predictions, Response):
            return predictions
        return JSONResponse({"predictions": predictions}, headers=headers)


async def scored(
    scorer: Scorer,
    model: LoadedModel,
    alias: str,
    parsed: Callable[[], pd.DataFrame],
    refuse: Callable[[int, str, str | None], Response],
) -> list[Any] | Response:
    """The predictions for the rows `parsed` builds, or the answer `refuse` gives to bad rows.

    Every scoring route (/invocations, the v2 infer) goes this one way: the same limits, checks and errors.
    """
    try:
        # Parsing and math run off the event loop: a large batch must not stall /health and the others.
        return await scorer(model, alias, parsed)
    except TooManyRowsError as problem:
        return refuse(413, str(problem), None)
    except InputError as problem:
        return refuse(400, str(problem), problem.field)
    except (ValueError, TypeError) as problem:  # the model rejected values the signature allowed
        return refuse(400, f"the model cannot score these rows: {problem}", None)


def add_predict(app: FastAPI, router: Router, max_rows: int, scorer: Scorer) -> None:
    """POST /predict: typed rows, validated against the champion's signature (and listed in /docs).

    When a swap brings a champion with other columns or another data contract, the route is rebuilt.
    """
    installed = [contract(router.routes.champion)]
    install_predict(app, router, request_model(router.routes.champion, max_rows), scorer)

    def on_swap(routes: Routes) -> None:
        if contract(routes.champion) != installed[0]:
            install_predict(app, router, request_model(routes.champion, max_rows), scorer)
            installed[0] = contract(routes.champion)

    router.listeners.append(on_swap)


def install_predict(app: FastAPI, router: Router, body_model: type[Any], scorer: Scorer) -> None:
    """(Re)place the /predict route with one that takes `body_model`."""

    async def predict(body: body_model, request: Request) -> Response:  # type: ignore[valid-type]
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
