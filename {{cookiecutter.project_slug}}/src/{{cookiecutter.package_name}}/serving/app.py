"""The FastAPI application serving one registered model version."""

# No `from __future__ import annotations` here: FastAPI must see the request model built at runtime.
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from threadpoolctl import threadpool_limits

from {{ cookiecutter.package_name }}.inference import InputError, LoadedModel, load_model
from {{ cookiecutter.package_name }}.serving.payloads import frame_from_body
from {{ cookiecutter.package_name }}.settings import Settings, load_settings

PYTHON_TYPES: dict[str, type] = {
    "float64": float,
    "float32": float,
    "int64": int,
    "int32": int,
    "bool": bool,
    "object": str,
}


def row_model(model: LoadedModel) -> type[BaseModel]:
    """A pydantic model of one input row, with the signature's column names and types."""
    fields: dict[str, Any] = {
        name: (PYTHON_TYPES[dtype], ...) for name, dtype in model.columns.items()
    }
    return create_model("Row", __config__=ConfigDict(extra="forbid", strict=False), **fields)


def error(status: int, message: str, field: str | None = None) -> JSONResponse:
    """A client error in one shape: what went wrong and, when known, which field."""
    return JSONResponse({"error": message, "field": field}, status_code=status)


def create_app(settings: Settings, model: LoadedModel | None = None) -> FastAPI:
    """Build the app around a loaded model (the champion by default)."""
    # Small online batches are faster on one thread than after waking a pool (about 3x here).
    threadpool_limits(settings.serve_threads)
    loaded = model or load_model(settings, alias=settings.serve_alias)
    started = time.monotonic()
    columns = list(loaded.columns)
    row = row_model(loaded)
    request_model = create_model(
        "PredictRequest",
        rows=(list[row], Field(min_length=1, max_length=settings.serve_max_rows)),  # type: ignore[valid-type]
    )
    app = FastAPI(
        title=f"{loaded.name} model server",
        version=loaded.version,
        description=f"Serves {loaded.name} version {loaded.version} (alias: {loaded.alias}).",
    )

    @app.middleware("http")
    async def limit_body_size(request: Request, call_next: Any) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > settings.serve_max_body_bytes:
            return error(413, f"body larger than {settings.serve_max_body_bytes} bytes")
        response: Response = await call_next(request)
        return response

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """The model being served and for how long."""
        return {
            "status": "ok",
            "model": loaded.name,
            "version": loaded.version,
            "alias": loaded.alias,
            "uptime_seconds": round(time.monotonic() - started, 3),
        }

    @app.post("/invocations")
    async def invocations(request: Request) -> Response:
        """MLflow's scoring protocol: the same payloads and answers as `mlflow models serve`."""
        body = await request.body()
        if len(body) > settings.serve_max_body_bytes:
            return error(413, f"body larger than {settings.serve_max_body_bytes} bytes")
        try:
            frame = frame_from_body(body, request.headers.get("content-type", ""), columns)
            if len(frame) > settings.serve_max_rows:
                return error(413, f"more than {settings.serve_max_rows} rows")
            predictions = loaded.predict(frame)
        except InputError as problem:
            return error(400, str(problem), problem.field)
        except (
            ValueError,
            TypeError,
        ) as problem:  # the model rejected values the signature allowed
            return error(400, f"the model cannot score these rows: {problem}")
        return JSONResponse({"predictions": predictions})

    @app.post("/predict")
    async def predict(body: request_model) -> dict[str, Any]:
        """Typed rows in, predictions out; /docs lists the model's input fields."""
        import pandas as pd

        rows = [item.model_dump() for item in body.rows]  # type: ignore[attr-defined]
        try:
            predictions = loaded.predict(pd.DataFrame.from_records(rows, columns=columns))
        except InputError as problem:
            return error(422, str(problem), problem.field)  # type: ignore[return-value]
        return {"predictions": predictions, "model": loaded.name, "version": loaded.version}

    return app


def app_from_environment() -> FastAPI:
    """Uvicorn factory: the app for the settings of the environment (`uvicorn --factory`)."""
    from {{ cookiecutter.package_name }}.logging import configure_logging

    settings = load_settings()
    configure_logging(settings)
    return create_app(settings)
