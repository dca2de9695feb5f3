"""Experiment tracking helpers: tracked runs, callbacks and buffered metrics on top of MLflow."""

from .callbacks import (
    LoguruCallback,
    MetricAlertError,
    ThresholdAlertCallback,
)
from .ending import MetricFlushError
from .interruption import TrackingInterruptedError
from .metrics import BufferedMetricLogger
from .params import flatten_params
from .runs import RunCallback, TrackedRun, current_run, tracked, tracked_run

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
