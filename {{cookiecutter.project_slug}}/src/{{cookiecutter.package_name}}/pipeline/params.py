"""What the experiment is: params.yaml, validated into one frozen object with key-named errors."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import PipelineError
from .search_space import TuneParams, space_problem
from .strict_yaml import load_yaml

Task = Literal["classification", "regression"]
# The test metrics each task produces, and whether higher is better (the deploy gate compares with it).
TASK_METRICS: dict[str, dict[str, bool]] = {
    "classification": {"accuracy": True, "f1": True, "roc_auc": True, "log_loss": False},
    "regression": {"rmse": False, "mae": False, "r2": True},
}
# Training logs each of them on the validation and the test split; alerts check these names.
ALERT_PREFIXES = ("val_", "test_")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Bounds(_Frozen):
    """Inclusive bounds on a metric; either side may be open."""

    min: float | None = Field(None, allow_inf_nan=False)
    max: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    def violation(self, value: float) -> str | None:
        """Describe how the value breaks the bounds, or None when it is within them (NaN never is)."""
        if math.isnan(value):
            return "not a number"
        if self.min is not None and value < self.min:
            return f"{value:.4g} < min {self.min:g}"
        if self.max is not None and value > self.max:
            return f"{value:.4g} > max {self.max:g}"
        return None


class DataParams(_Frozen):
    """Where the raw data comes from and which column is predicted."""

    source: str = Field(min_length=1)
    target: str = Field(min_length=1)


class SplitParams(_Frozen):
    """Held-out fractions."""

    test_size: float = Field(gt=0, lt=1)
    val_size: float = Field(gt=0, lt=1)


class ModelParams(_Frozen):
    """HistGradientBoosting hyperparameters."""

    learning_rate: float = Field(gt=0, le=1)
    max_iter: int = Field(ge=1, le=10_000)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: int = Field(ge=1)
    l2_regularization: float = Field(ge=0)


class AlertParams(_Frozen):
    """Metric bounds checked while training."""

    fail: bool = False
    limits: dict[str, Bounds] = Field(default_factory=dict)


class GateParams(_Frozen):
    """The deploy quality gate."""

    tolerance: float = Field(ge=0)
    limits: dict[str, Bounds] = Field(default_factory=dict)


class MonitorParams(_Frozen):
    """The drift check of the served model's logged requests (`make monitor`)."""

    psi_limit: float = Field(0.2, gt=0, allow_inf_nan=False)
    min_rows: int = Field(200, ge=1)  # fewer logged rows is an error, not a verdict
    max_drifted: int = Field(0, ge=0)  # columns (the prediction is one) allowed above psi_limit


class ReproduceParams(_Frozen):
    """What `make reproduce` accepts as the same model: the room left for BLAS and platform differences."""

    metric_tolerance: float = Field(1e-6, ge=0, allow_inf_nan=False)  # per test metric, absolute
    prediction_tolerance: float = Field(
        1e-6, ge=0, allow_inf_nan=False
    )  # regression values, absolute
    min_agreement: float = Field(
        1.0, ge=0, le=1
    )  # classification: share of equal predicted classes


class ServeParams(_Frozen):
    """The serving gate (`make serve-check`, CI after `make deploy`): its latency budget and its sizes."""

    # Milliseconds per request of /invocations, one request at a time.
    p95_ms: float = Field(100.0, gt=0, allow_inf_nan=False)
    requests: int = Field(200, ge=20, le=100_000)  # of the serving example, to measure
    fuzz_examples: int = Field(100, ge=1, le=10_000)  # schemathesis examples per operation


class Params(_Frozen):
    """Everything in params.yaml."""

    task: Task
    seed: int
    data: DataParams
    split: SplitParams
    model: ModelParams
    alerts: AlertParams = AlertParams()
    gate: GateParams
    monitor: MonitorParams = MonitorParams()
    tune: TuneParams | None = None  # `make tune`'s search (search_space.py)
    reproduce: ReproduceParams = ReproduceParams()  # `make reproduce`'s verdict
    serve: ServeParams = ServeParams()  # `make serve-check`'s budget

    @model_validator(mode="after")
    def _split_leaves_training_data(self) -> Params:
        if self.split.test_size + self.split.val_size >= 0.9:
            raise ValueError("split.test_size + split.val_size must leave at least 10% to train on")
        return self

    @model_validator(mode="after")
    def _limits_name_known_metrics(self) -> Params:
        # A typo or another task's metric would otherwise be skipped silently: a gate checking nothing.
        metrics = list(TASK_METRICS[self.task])
        alert_metrics = [prefix + name for prefix in ALERT_PREFIXES for name in metrics]
        for section, limits, known in (
            ("gate.limits", self.gate.limits, metrics),
            ("alerts.limits", self.alerts.limits, alert_metrics),
        ):
            unknown = sorted(set(limits) - set(known))
            if unknown:
                raise ValueError(
                    f"{section}.{unknown[0]}: not a {self.task} metric (known: {', '.join(known)})"
                )
        if self.tune and self.tune.metric and self.tune.metric not in metrics:
            raise ValueError(f"tune.metric: not a {self.task} metric (known: {', '.join(metrics)})")
        problem = self.tune and space_problem(self.tune.space, self.model)
        if problem:
            raise ValueError(problem)
        return self

    def tuned_metric(self) -> tuple[str, bool]:
        """The validation metric `make tune` optimises and whether higher is better.

        By default the gate's first limit (the metric a candidate is judged on), in its own direction.
        """
        metrics = TASK_METRICS[self.task]
        tune = self.tune
        name = (tune and tune.metric) or next(iter(self.gate.limits), next(iter(metrics)))
        higher = metrics[name] if not (tune and tune.direction) else tune.direction == "maximize"
        return name, higher


PROBLEMS_SHOWN = 10  # an error lists this many problems at most, then how many more there are
VALUE_SHOWN = 60  # characters of a given value repeated in an error


def parse_params(raw: Any, source: str = "params.yaml") -> Params:
    """Validate a parsed params mapping; errors name each key by its dotted path, and stay short."""
    try:
        return Params.model_validate(raw)
    except ValidationError as error:
        problems = error.errors()
        lines = [f"{source}: invalid parameters:"]
        for problem in problems[:PROBLEMS_SHOWN]:
            message = problem["msg"].removeprefix("Value error, ")
            if not problem["loc"]:  # a check across keys names them in its message
                lines.append(f"  {message}")
                continue
            key = ".".join(str(part) for part in problem["loc"])
            given = "" if problem["type"] == "missing" else f"={_excerpt(problem['input'])}"
            lines.append(f"  {key}{given}: {message}")
        if len(problems) > PROBLEMS_SHOWN:
            lines.append(f"  ... and {len(problems) - PROBLEMS_SHOWN} more")
        raise PipelineError("\n".join(lines)) from None


def _excerpt(value: Any) -> str:
    """A value as written in an error: its repr, cut short."""
    shown = repr(value)
    return shown if len(shown) <= VALUE_SHOWN else f"{shown[:VALUE_SHOWN]}..."


def load_params(path: Path) -> Params:
    """Read and validate params.yaml."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError(f"{path}: parameters file not found") from None
    return parse_params(load_yaml(text, str(path)), str(path))
