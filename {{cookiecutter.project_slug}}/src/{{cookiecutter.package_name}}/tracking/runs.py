"""Tracked runs: a context manager and a decorator that never leave an MLflow run RUNNING."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, runtime_checkable

import mlflow
from loguru import logger
from mlflow.entities import Metric, Param, RunTag

from .ending import MetricFlushError, final_flush, raise_after_end
from .interruption import end_spooled, open_spool, spool_folder
from .metrics import BufferedMetricLogger
from .params import flatten_params, loggable_arguments
from .spool import Spool
from .store import active_client, is_unreachable

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

P = ParamSpec("P")
R = TypeVar("R")
_active: ContextVar[tuple[TrackedRun, ...]] = ContextVar("tracked_runs", default=())


@runtime_checkable
class RunCallback(Protocol):
    """What a run calls: once at start, on every metrics call, once at the end with its status.

    Any class with these three methods is a RunCallback; subclass it to inherit the no-op ones you skip.
    (The defaults ignore their arguments, which the methods that override them use: hence the noqa.)
    """

    def on_run_start(self, run: TrackedRun) -> None:  # noqa: ARG002
        """The run has started; its params are logged."""
        return  # a no-op by default, not an abstract method

    def on_metrics(
        self, run: TrackedRun, metrics: Mapping[str, float], step: int | None  # noqa: ARG002
    ) -> None:
        """Metrics were logged (called before they are buffered)."""
        return  # a no-op by default, not an abstract method

    def on_run_end(self, run: TrackedRun, status: str) -> None:  # noqa: ARG002
        """The run is ending with FINISHED, FAILED or KILLED; buffered metrics are flushed."""
        return  # a no-op by default, not an abstract method


class TrackedRun:
    """The run inside `tracked_run`: buffered metrics, params, tags and callbacks.

    When the tracking server stops answering mid-run (MLflow's retries ran out), everything the run writes
    from then on goes to its spool file instead (see spool.py), and `tracked_run` reports the run as
    interrupted at the end.
    """

    def __init__(self, run: Any, client: MlflowClient, callbacks: Sequence[RunCallback]) -> None:
        self.run_id: str = run.info.run_id
        self.experiment_id: str = run.info.experiment_id
        self.name: str = run.info.run_name or ""
        self.client = client
        self.callbacks = tuple(callbacks)
        self.spool: Spool | None = None
        self.end_status = "FINISHED"  # how a returning block ends it (a pruned trial: KILLED)
        self.metrics = BufferedMetricLogger(
            self.run_id, client, send=lambda chunk: self.write(metrics=chunk)
        )

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Log one metric point (buffered)."""
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Let callbacks see the metrics, then buffer them."""
        for callback in self.callbacks:
            callback.on_metrics(self, metrics, step)
        self.metrics.log_many(metrics, step)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (flattened) params in one call; MLflow's client splits it into the batches its API takes."""
        self.write(params=[Param(key, value) for key, value in flatten_params(params).items()])

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Set tags on the run in one call (MLflow's client batches them)."""
        self.write(tags=[RunTag(key, str(value)) for key, value in tags.items()])

    def write(
        self,
        *,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Send to the store in one call; once the tracking server is unreachable, to the spool instead."""
        points, values, labels = list(metrics), list(params), list(tags)
        if self.spool is None:
            try:
                self.client.log_batch(
                    self.run_id, metrics=points, params=values, tags=labels, synchronous=True
                )
                return
            except Exception as error:
                if not is_unreachable(error):
                    raise
                self.spool = self.start_spool()
        self.spool.write(metrics=points, params=values, tags=labels)

    def start_spool(self) -> Spool:
        """The run's spool, from now on: the tracking server stopped answering."""
        return open_spool(spool_folder(), self.run_id)

    def flush(self, *, params: Iterable[Param] = (), tags: Iterable[RunTag] = ()) -> None:
        """Send buffered metrics now, and `params` and `tags` with the first of them: one store call."""
        values, labels = list(params), list(tags)

        def along(chunk: Sequence[Metric]) -> None:
            self.write(metrics=chunk, params=values, tags=labels)

        self.metrics.flush(along if values or labels else None)


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

    The run is MLflow's active run, so `mlflow.log_*` calls inside the block go to it too; with
    `nested=True` it is a child of the active run. Params are logged flattened at the start, then
    callbacks' `on_run_start` is called, in the order given.

    On exit, buffered metrics are flushed first (also after an exception), then every callback's
    `on_run_end` sees the status, then the run is ended with it. The block's exception (FAILED,
    or KILLED for KeyboardInterrupt) is re-raised after that. A callback that raises in
    `on_run_end` is logged and the run still ends; its error is re-raised only when the block
    itself succeeded, so it never hides the block's own exception.
    """
    active = mlflow.start_run(
        run_id=run_id,
        experiment_id=experiment_id,
        run_name=run_name,
        nested=nested,
        tags=dict(tags) if tags else None,
    )
    run = _wrap(active, callbacks)
    token = _active.set((*_active.get(), run))
    status = "FAILED"
    flush_error: MetricFlushError | None = None
    end_error: Exception | None = None
    try:
        if params:
            run.log_params(params)
        for callback in run.callbacks:
            callback.on_run_start(run)
        yield run
        status = run.end_status
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        # Nothing here may raise: the block's own exception, if any, must be the one that propagates.
        flush_error = final_flush(run.metrics, run.run_id)
        if flush_error is not None and status == "FINISHED":
            status = "FAILED"  # a run whose metrics were not all written did not finish
        end_error = _end_callbacks(run, status)
        _active.reset(token)
        _end_run(run, status)
    raise_after_end(run.spool, flush_error, end_error)


def _wrap(active: Any, callbacks: Sequence[RunCallback]) -> TrackedRun:
    """The tracked run around MLflow's run just started; should that fail, the run ends FAILED."""
    try:
        return TrackedRun(active, active_client(), callbacks)
    except BaseException:
        mlflow.end_run("FAILED")
        raise


def _end_run(run: TrackedRun, status: str) -> None:
    """End MLflow's active run with `status`; with the server gone, record the status in the spool instead."""
    if run.spool is None:
        try:
            mlflow.end_run(status)
            return
        except Exception as error:
            if not is_unreachable(error):
                raise
            run.spool = run.start_spool()
    end_spooled(run.spool, status)


def _end_callbacks(run: TrackedRun, status: str) -> Exception | None:
    """Call every callback's `on_run_end`; log failures and return the first one."""
    first: Exception | None = None
    for callback in run.callbacks:
        try:
            callback.on_run_end(run, status)
        except Exception as error:
            logger.exception("callback {} failed at the end of the run", type(callback).__name__)
            if first is None:
                first = error
    return first


def tracked(
    run_name: str | None = None,
    *,
    callbacks: Sequence[RunCallback] = (),
    log_args: bool = True,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated function inside `tracked_run`, named `run_name` or after the function.

    With `log_args`, the call's arguments that are str, int, float, bool, None, mappings or
    pydantic models are logged as (flattened) params. The function reaches its run with
    `current_run()`. Called while a run is active, the new run is nested under it.
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            params = loggable_arguments(function, args, kwargs) if log_args else None
            nested = mlflow.active_run() is not None
            with tracked_run(
                run_name or function.__name__, params=params, callbacks=callbacks, nested=nested
            ):
                return function(*args, **kwargs)

        return wrapper

    return decorate
