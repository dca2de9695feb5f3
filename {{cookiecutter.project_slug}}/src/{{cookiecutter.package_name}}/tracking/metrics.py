"""Buffered metric logging: points are batched into `log_batch` calls and never lost."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from mlflow.entities import Metric

from .store import active_client

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

BATCH_LIMIT = 1000  # MLflow accepts at most 1000 metrics per log_batch call


class BufferedMetricLogger:
    """Collects metric points and sends them in batches with `log_batch`.

    A flush happens only on a step boundary (a point with a new step arrives) once `max_points`
    are waiting or `flush_interval` seconds have passed, and always on `flush()` and on leaving a
    `with` block (also by an exception), so a step's points travel together and nothing logged is
    lost. Timestamps are taken when a point is logged, so batching keeps the time axis true.
    """

    def __init__(
        self,
        run_id: str,
        client: MlflowClient | None = None,
        *,
        max_points: int = BATCH_LIMIT,
        flush_interval: float = 10.0,
        send: Callable[[Sequence[Metric]], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.client = client if client is not None else active_client()
        # Where a batch goes: the client's log_batch, unless the owner (a TrackedRun) routes it.
        self.send = send or self._log_batch
        self.max_points = max_points
        self.flush_interval = flush_interval
        self._buffer: list[Metric] = []
        self._step: int | None = None
        self._last_flush = time.monotonic()

    @property
    def pending(self) -> int:
        """Points waiting to be sent."""
        return len(self._buffer)

    def log(
        self, key: str, value: float, step: int | None = None, timestamp: int | None = None
    ) -> None:
        """Buffer one point; its timestamp is taken now, not at flush time."""
        step_value = step or 0  # as in mlflow.log_metric: no step is step 0
        if self._buffer and step_value != self._step and self._due():
            self.flush()
        self._step = step_value
        stamp = timestamp if timestamp is not None else int(time.time() * 1000)
        self._buffer.append(Metric(key, float(value), stamp, step_value))

    def log_many(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Buffer several metrics of the same step with one timestamp."""
        stamp = int(time.time() * 1000)
        for key, value in metrics.items():
            self.log(key, value, step, stamp)

    def _due(self) -> bool:
        waited = time.monotonic() - self._last_flush
        return len(self._buffer) >= self.max_points or waited >= self.flush_interval

    def flush(self, send_first: Callable[[Sequence[Metric]], None] | None = None) -> None:
        """Send everything buffered now, synchronously, in chunks MLflow accepts.

        MLflow's client would split one large call the same way, but chunking here drops each chunk from the
        buffer only once it is stored: after a failure the buffer holds exactly the points not written.
        `send_first` sends the first chunk (an empty one too): what its caller adds travels in the same call.
        """
        first = send_first
        while self._buffer or first is not None:
            chunk = self._buffer[:BATCH_LIMIT]
            (first or self.send)(chunk)
            first = None
            # Dropped only once stored: after a failed call the points are still here to retry.
            del self._buffer[: len(chunk)]
        self._last_flush = time.monotonic()

    def _log_batch(self, chunk: Sequence[Metric]) -> None:
        self.client.log_batch(self.run_id, metrics=chunk, synchronous=True)

    def __enter__(self) -> BufferedMetricLogger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.flush()
