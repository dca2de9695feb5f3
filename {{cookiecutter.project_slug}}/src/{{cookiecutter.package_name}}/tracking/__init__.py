"""Experiment tracking helpers: tracked runs, callbacks and buffered metrics on top of MLflow."""

from .callbacks import (
    LoguruCallback,
    MetricAlertError,
    ThresholdAlertCallback,
)
from .metrics import BufferedMetricLogger
from .runs import (
    MetricFlushError,
    RunCallback,
    TrackedRun,
    TrackingInterruptedError,
    current_run,
    flatten_params,
    tracked,
    tracked_run,
)

__all__ = [
    "BufferedMetricLogger",
    "LoguruCallback",
    "MetricAlertError",
    "MetricFlushError",
    "RunCallback",
    "ThresholdAlertCallback",
    "TrackedRun",
    "TrackingInterruptedError",
    "current_run",
    "flatten_params",
    "tracked",
    "tracked_run",
]
