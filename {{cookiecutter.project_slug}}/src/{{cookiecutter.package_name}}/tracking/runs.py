"""Tracked runs: a context manager and a decorator that never leave an MLflow run RUNNING."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

import mlflow
from loguru import logger
from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from {{ cookiecutter.package_name }}.tracking.callbacks import RunCallback
from {{ cookiecutter.package_name }}.tracking.metrics import BATCH_LIMIT, BufferedMetricLogger

PARAM_VALUE_LIMIT = 6000  # MLflow's limit on a param value's length
P = ParamSpec("P")
R = TypeVar("R")
_active: ContextVar[tuple[TrackedRun, ...]] = ContextVar("tracked_runs", default=())


def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings and pydantic models become dotted keys; values become strings."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = str(value)[:PARAM_VALUE_LIMIT]
    return flat


class TrackedRun:
    """The run inside `tracked_run`: buffered metrics, params, tags and callbacks."""

    def __init__(self, run: Any, client: MlflowClient, callbacks: Sequence[RunCallback]) -> None:
        self.run_id: str = run.info.run_id
        self.experiment_id: str = run.info.experiment_id
        self.name: str = run.info.run_name or ""
        self.client = client
        self.callbacks = tuple(callbacks)
        self.metrics = BufferedMetricLogger(self.run_id, client)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Log one metric point (buffered)."""
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Let callbacks see the metrics, then buffer them."""
        for callback in self.callbacks:
            callback.on_metrics(self, metrics, step)
        self.metrics.log_many(metrics, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (flattened) params in batches."""
        items = [Param(key, value) for key, value in flatten_params(params).items()]
        for start in range(0, len(items), 100):  # MLflow accepts 100 params per batch
            self.client.log_batch(self.run_id, params=items[start : start + 100], synchronous=True)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set tags on the run."""
        batch = [RunTag(key, str(value)) for key, value in tags.items()]
        for start in range(0, len(batch), BATCH_LIMIT):
            self.client.log_batch(
                self.run_id, tags=batch[start : start + BATCH_LIMIT], synchronous=True
            )

    def flush(self) -> None:
        """Send buffered metrics now."""
        self.metrics.flush()


def current_run() -> TrackedRun:
    """The innermost active tracked run; raises RuntimeError outside one."""
    stack = _active.get()
    if not stack:
        raise RuntimeError("no tracked run is active: use `with tracked_run(...)` or `@tracked`")
    return stack[-1]


@contextmanager
def tracked_run(
    run_name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    callbacks: Sequence[RunCallback] = (),
    experiment_id: str | None = None,
    run_id: str | None = None,
    nested: bool = False,
) -> Iterator[TrackedRun]:
    """Start (or resume, with `run_id`) an MLflow run that always ends FINISHED, FAILED or KILLED.

    On exit, buffered metrics are flushed first (also after an exception), then callbacks see the
    status, then the run is ended with it; an exception is re-raised after that.
    """
    active = mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=run_name,
        nested=nested,
        tags=dict(tags) if tags else None,
    )
    run = TrackedRun(active, MlflowClient(), callbacks)
    token = _active.set((*_active.get(), run))
    status = "FAILED"
    try:
        if params:
            run.log_params(params)
        for callback in run.callbacks:
            callback.on_run_start(run)
        yield run
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        _active.reset(token)
        try:
            run.flush()
            for callback in run.callbacks:
                try:
                    callback.on_run_end(run, status)
                except Exception:
                    logger.exception("callback {} failed at run end", type(callback).__name__)
        finally:
            mlflow.end_run(status)


def _loggable_arguments(function: Callable[..., Any], args: Any, kwargs: Any) -> dict[str, Any]:
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    simple = (str, int, float, bool, type(None), BaseModel, Mapping)
    return {name: value for name, value in bound.arguments.items() if isinstance(value, simple)}


def tracked(
    run_name: str | None = None,
    *,
    callbacks: Sequence[RunCallback] = (),
    log_args: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function inside `tracked_run`, logging its simple arguments as params."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            params = _loggable_arguments(function, args, kwargs) if log_args else None
            nested = mlflow.active_run() is not None
            with tracked_run(
                run_name or function.__name__, params=params, callbacks=callbacks, nested=nested
            ):
                return function(*args, **kwargs)

        return wrapper

    return decorate
