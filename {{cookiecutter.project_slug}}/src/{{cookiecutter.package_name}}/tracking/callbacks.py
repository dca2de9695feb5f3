"""Run callbacks: hooks at a run's start, metrics and end, with logging and alert built-ins."""

from __future__ import annotations

from collections.abc import Mapping

from loguru import logger

from .runs import RunCallback, TrackedRun


class LoguruCallback(RunCallback):
    """Logs the run's life through loguru: start and end at INFO (WARNING unless FINISHED)."""

    def on_run_start(self, run: TrackedRun) -> None:
        """Log the run's name, id and experiment."""
        logger.info("run {} ({}) started in experiment {}", run.name, run.run_id, run.experiment_id)

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Log metrics at DEBUG (they can be many)."""
        rounded = {key: round(value, 6) for key, value in metrics.items()}
        logger.debug("run {} step {}: {}", run.name, step, rounded)

    def on_run_end(self, run: TrackedRun, status: str) -> None:
        """Log the final status; a failed or killed run is a warning."""
        level = "INFO" if status == "FINISHED" else "WARNING"
        logger.log(level, "run {} ({}) ended {}", run.name, run.run_id, status)


class MetricAlertError(RuntimeError):
    """A metric crossed a limit of an alert that fails the run."""

    def __init__(self, metric: str, value: float, limit: float, problem: str) -> None:
        super().__init__(f"metric alert: {problem}")
        self.metric = metric
        self.value = value
        self.limit = limit


class ThresholdAlertCallback(RunCallback):
    """Warns, and tags the run `alert.<metric>`, when a final metric crosses a limit; can fail it.

    `limits` maps a metric to its (min, max), either of which may be None. Only metrics logged
    without a step are checked: a learning curve starts poor by design. With `fail=True` the alert
    raises MetricAlertError, which `tracked_run` turns into a FAILED run.
    """

    def __init__(
        self, limits: Mapping[str, tuple[float | None, float | None]], *, fail: bool = False
    ) -> None:
        self.limits = dict(limits)
        self.fail = fail

    def on_metrics(self, run: TrackedRun, metrics: Mapping[str, float], step: int | None) -> None:
        """Check each limited metric of a final (step-less) metrics call."""
        if step is not None:
            return
        for name, value in metrics.items():
            low, high = self.limits.get(name, (None, None))
            if low is not None and value < low:
                self._alert(run, name, value, low, "below the minimum")
            elif high is not None and value > high:
                self._alert(run, name, value, high, "above the maximum")

    def _alert(self, run: TrackedRun, name: str, value: float, limit: float, side: str) -> None:
        problem = f"{name} = {value:.4g} is {side} {limit:g}"
        logger.warning("metric alert: {}", problem)
        run.set_tags({f"alert.{name}": problem})
        if self.fail:
            raise MetricAlertError(name, value, limit, problem)
