"""Experiment tracking helpers: tracked runs, callbacks and buffered metrics on top of MLflow."""

from {{ cookiecutter.package_name }}.tracking.callbacks import (
    LoguruCallback,
    MetricAlertError,
    RunCallback,
    ThresholdAlertCallback,
)
from {{ cookiecutter.package_name }}.tracking.metrics import BufferedMetricLogger
from {{ cookiecutter.package_name }}.tracking.runs import (
    TrackedRun,
    current_run,
    flatten_params,
    tracked,
    tracked_run,
)

__all__ = [
    "BufferedMetricLogger",
    "LoguruCallback",
    "MetricAlertError",
    "RunCallback",
    "ThresholdAlertCallback",
    "TrackedRun",
    "current_run",
    "flatten_params",
    "tracked",
    "tracked_run",
]
