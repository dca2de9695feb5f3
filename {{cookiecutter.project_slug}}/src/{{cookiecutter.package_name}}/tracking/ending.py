"""The end of a tracked run: its last metrics flushed, and the one error its caller sees once it has ended."""

from __future__ import annotations

from loguru import logger

from .interruption import interrupted
from .metrics import BufferedMetricLogger
from .spool import Spool


class MetricFlushError(RuntimeError):
    """The run's last metric points could not be written; the message says how many."""


def final_flush(metrics: BufferedMetricLogger, run_id: str) -> MetricFlushError | None:
    """Flush the run's buffered points before its status is set; report, never raise, a failure."""
    try:
        metrics.flush()
    except Exception as error:
        lost = metrics.pending
        logger.error("run {}: {} metric points were not written: {}", run_id, lost, error)
        failure = MetricFlushError(f"{lost} metric points of run {run_id} were not written")
        failure.__cause__ = error
        return failure
    return None


def raise_after_end(
    spool: Spool | None, flush_error: MetricFlushError | None, end_error: Exception | None
) -> None:
    """Once the run has ended: say it was interrupted (it spooled), else raise the flush's or a callback's error."""
    if spool is not None:
        raise interrupted(spool)
    if flush_error is not None:
        raise flush_error
    if end_error is not None:
        raise end_error
