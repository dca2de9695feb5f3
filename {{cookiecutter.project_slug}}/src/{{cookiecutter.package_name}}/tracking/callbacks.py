"""Run callbacks: hooks before and after a run and on every metric, with logging and alert built-ins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from loguru import logger

if TYPE_CHECKING:
    from {{ cookiecutter.package_name }}.tracking.runs import TrackedRun


@runtime_checkable
class RunCallback(Protocol):
    """What a run calls: once at start, on every metrics call, once at the end with its status."""

    def on_run_start(self, run: TrackedRun) -> None:
        """The run has started; params are logged."""

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Metrics were logged (before they are buffered)."""

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """The run is ending with FINISHED, FAILED or KILLED; buffered metrics are flushed."""


class LoguruCallback:
    """Logs the run's life through loguru."""

    def on_run_start(self, run: TrackedRun) -> None:
        """Log the run id and name."""
        logger.info("run {} ({}) started in experiment {}", run.name, run.run_id, run.experiment_id)

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Log metrics at DEBUG (they can be many)."""
        logger.debug("step {}: {}", step, {key: round(value, 6) for key, value in metrics.items()})

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Log the final status; a failure is a warning."""
        level = "INFO" if status == "FINISHED" else "WARNING"
        logger.log(level, "run {} ({}) ended {}", run.name, run.run_id, status)


class MetricAlertError(RuntimeError):
    """A metric crossed a limit of a failing alert."""

    def __init__(self, metric: str, value: float, problem: str) -> None:
        super().__init__(f"metric alert: {metric} {problem}")
        self.metric = metric
        self.value = value


class ThresholdAlertCallback:
    """Warns (tags the run `alert.<metric>`) or fails the run when a final metric crosses a limit.

    Only metrics logged without a step are checked: a learning curve starts poor by design.
    """

    def __init__(
        self, limits: Mapping[str, tuple[float | None, float | None]], *, fail: bool = False
    ) -> None:
        self.limits = dict(limits)
        self.fail = fail

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ThresholdAlertCallback:
        """Build from params.yaml's `alerts` mapping: `fail` (bool) and `limits` (metric: min/max)."""
        limits = {
            name: (bounds.get("min"), bounds.get("max"))
            for name, bounds in params.get("limits", {}).items()
        }
        return cls(limits, fail=bool(params.get("fail", False)))

    def on_run_start(self, run: TrackedRun) -> None:
        """Nothing to do at start."""

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Check each limited metric of a final (step-less) metrics call."""
        if step is not None:
            return
        for name, value in metrics.items():
            if name not in self.limits:
                continue
            low, high = self.limits[name]
            problem = None
            if low is not None and value < low:
                problem = f"= {value:.4g} is below the minimum {low:g}"
            elif high is not None and value > high:
                problem = f"= {value:.4g} is above the maximum {high:g}"
            if problem is None:
                continue
            run.set_tags({f"alert.{name}": problem})
            if self.fail:
                raise MetricAlertError(name, value, problem)
            logger.warning("metric alert: {} {}", name, problem)

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Nothing to do at the end."""
