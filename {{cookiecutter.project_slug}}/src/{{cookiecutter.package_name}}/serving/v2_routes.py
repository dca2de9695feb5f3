"""The Open Inference Protocol's (KServe v2) REST endpoints, beside MLflow's /invocations.

What a platform expects of a model server (KServe, Seldon, Triton's clients): health, metadata and infer under
/v2. Infer goes the way /invocations goes (the router's canary split, the row and body limits, the model's
input checks, the scoring thread, metrics and the request log); only the payload differs (see oip).
Errors are the protocol's `{"error": "..."}`, capped like every other error of the server.
"""

# No `from __future__ import annotations` here: FastAPI reads the handlers' annotations at runtime.
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from .. import __version__
from ..model.loaded import LoadedModel
from ..names import DISTRIBUTION
from ..tracking.store import CHALLENGER, CHAMPION
from .errors import capped
from .oip import InferenceRequest, frame_of, metadata, parse_request, response
from .readiness import Readiness
from .routes import model_headers, scored
from .routing import Router
from .scoring import Scorer

MODEL = "/v2/models/{name}"
VERSION = "/v2/models/{name}/versions/{version}"
# Triton's binary tensor extension: its clients' default (binary_data=True), not part of the protocol.
BINARY_HEADER = "inference-header-content-length"
BINARY_REFUSED = (
    "binary tensor data is not supported: send the tensors as JSON "
    "(tritonclient: binary_data=False)"
)


class ProtocolError(Exception):
    """A v2 request this server refuses, with the HTTP status to answer it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def refusal(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The protocol's error object: a message only (never the input), capped in length."""
    return JSONResponse({"error": capped(message)}, status_code=status, headers=headers)


def served(
    router: Router, name: str, version: str | None, request_id: str | None
) -> tuple[LoadedModel, str]:
    """The model (and alias) that answers for `name` (and `version`); ProtocolError for another one.

    Without a version the router picks, as for /invocations (a canary's share goes to the challenger);
    a version pins the champion or the challenger, whichever it is.
    """
    routes = router.routes
    if name != routes.champion.name:
        raise ProtocolError(
            404, f"unknown model {name[:60]!r}: this server serves {routes.champion.name!r}"
        )
    if version is None:
        return routes.pick(request_id)
    if version == routes.champion.version:
        return routes.champion, routes.champion.alias or CHAMPION
    if routes.challenger is not None and version == routes.challenger.version:
        return routes.challenger, CHALLENGER
    raise ProtocolError(
        404,
        f"{name} version {version[:20]!r} is not served here: versions {', '.join(versions(router))}",
    )


def versions(router: Router) -> list[str]:
    """The versions a client may ask for by number: the champion's, and a challenger's during a canary."""
    routes = router.routes
    served_versions = [routes.champion.version]
    if routes.challenger is not None:
        served_versions.append(routes.challenger.version)
    return served_versions


def add_v2(
    app: FastAPI, router: Router, readiness: Readiness, max_rows: int, scorer: Scorer
) -> None:
    """The protocol's endpoints, each model endpoint with and without `/versions/{version}`."""

    @app.exception_handler(ProtocolError)
    async def protocol_error(_request: Request, problem: ProtocolError) -> Response:
        return refusal(problem.status, str(problem))

    add_health(app, readiness)

    async def model_metadata(name: str, version: str | None = None) -> dict[str, Any]:
        """The model's inputs (one per signature column) and its output, with datatypes and shapes."""
        model, _alias = served(router, name, version, None)
        return metadata(model, versions(router))

    async def model_ready(name: str, version: str | None = None) -> Response:
        """Whether the model answers inference requests: 200 when ready, 503 when not yet."""
        served(router, name, version, None)
        return JSONResponse(
            {"name": name, "ready": readiness.ready}, status_code=200 if readiness.ready else 503
        )

    async def infer(request: Request, name: str, version: str | None = None) -> Response:
        """One input tensor per column in, the predictions as the `predict` output tensor out."""
        model, alias = served(router, name, version, request.headers.get("x-request-id"))
        return await inferred(request, model, alias, max_rows, scorer)

    for path in (MODEL, VERSION):
        app.add_api_route(path, model_metadata, methods=["GET"], tags=["v2"])
        app.add_api_route(f"{path}/ready", model_ready, methods=["GET"], tags=["v2"])
        app.add_api_route(f"{path}/infer", infer, methods=["POST"], tags=["v2"])


async def inferred(
    request: Request, model: LoadedModel, alias: str, max_rows: int, scorer: Scorer
) -> Response:
    """Score an inference request's tensors with `model`, the way /invocations scores its rows."""
    headers = model_headers(model, alias)
    if BINARY_HEADER in request.headers:
        return refusal(400, BINARY_REFUSED, headers)
    body = await request.body()  # BodyLimit refuses it past the size limit while it arrives
    parsed: list[InferenceRequest] = []

    def rows() -> pd.DataFrame:
        parsed.append(parse_request(body))
        return frame_of(parsed[0], model, max_rows)

    def refuse(status: int, message: str, _field: str | None) -> Response:
        return refusal(status, message, headers)

    predictions = await scored(scorer, model, alias, rows, refuse)
    if isinstance(predictions, Response):
        return predictions
    return JSONResponse(response(model, predictions, parsed[0].id), headers=headers)


def add_health(app: FastAPI, readiness: Readiness) -> None:
    """GET /v2 (the server's metadata), /v2/health/live and /v2/health/ready."""

    @app.get("/v2", tags=["v2"])
    async def server_metadata() -> dict[str, Any]:
        """The server's name and version, and the protocol extensions it supports (none)."""
        return {"name": DISTRIBUTION, "version": __version__, "extensions": []}

    @app.get("/v2/health/live", tags=["v2"])
    async def live() -> dict[str, bool]:
        """200 while the process answers: a liveness probe."""
        return {"live": True}

    @app.get("/v2/health/ready", tags=["v2"])
    async def ready() -> Response:
        """200 once the model is loaded and answered its serving example, else 503: a readiness probe."""
        if readiness.ready:
            return JSONResponse({"live": True, "ready": True})
        return JSONResponse(
            {"live": True, "ready": False, "error": capped(readiness.problem or "not ready")},
            status_code=503,
        )
