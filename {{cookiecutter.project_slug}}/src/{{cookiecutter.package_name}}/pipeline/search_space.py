"""The hyperparameter search of `make tune`: the `tune:` section of params.yaml, checked when params load.

Each model parameter to search gets a distribution: a range (`{low: 0.01, high: 0.3, log: true}`; integer for
an integer parameter, with an optional `step`) or a list of choices (`{choices: [0.0, 0.1, 1.0]}`). Every end
of a range and every choice must itself be a valid value of the parameter, so a search never proposes a model
that `make train` would refuse.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Pruner = Literal["median", "successive_halving", "none"]
Direction = Literal["maximize", "minimize"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Distribution(_Frozen):
    """One parameter's distribution: a range (`low`, `high`, `log`, `step`) or `choices`."""

    low: float | None = Field(None, allow_inf_nan=False)
    high: float | None = Field(None, allow_inf_nan=False)
    log: bool = False
    step: float | None = Field(None, gt=0, allow_inf_nan=False)
    choices: list[float | int | str | bool] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        ranged = self.low is not None or self.high is not None
        if self.choices is not None:
            if ranged or self.log or self.step is not None:
                raise ValueError("give either choices or low/high, not both")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a range needs both low and high (or give choices)")
        if self.low >= self.high:
            raise ValueError(f"empty range: low {self.low:g} is not below high {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range must start above 0 (low is {self.low:g})")
        if self.log and self.step is not None:
            raise ValueError("log and step cannot be combined")
        return self

    def values(self) -> list[Any]:
        """The values that must each be valid for the parameter: the ends of the range, or every choice."""
        return list(self.choices) if self.choices is not None else [self.low, self.high]


class TuneParams(_Frozen):
    """The `tune:` section: what to search, what to optimise, how to prune."""

    metric: str | None = None  # a validation metric; default: the gate's first limit
    direction: Direction | None = (
        None  # default: the metric's own (higher accuracy, lower rmse is better)
    )
    seed: int = 42  # the sampler's seed: one worker proposes the same trials again
    pruner: Pruner = "median"
    checkpoints: int = Field(
        10, ge=1, le=100
    )  # validation scores reported per trial (boosting rounds)
    space: dict[str, Distribution] = Field(min_length=1)


def space_problem(space: dict[str, Distribution], model: BaseModel) -> str | None:
    """What makes the space unusable for the `model:` section (its first problem), or None."""
    known = list(type(model).model_fields)
    for name, distribution in space.items():
        if name not in known:
            return f"tune.space.{name}: not a model parameter (known: {', '.join(known)})"
        problem = _invalid_value(model, name, distribution)
        if problem:
            return f"tune.space.{name}: {problem}"
    return None


def _invalid_value(model: BaseModel, name: str, distribution: Distribution) -> str | None:
    """Why a value of the distribution is not a valid `model.<name>` (the model's own check), or None."""
    integer = type(model).model_fields[name].annotation is int
    for value in distribution.values():
        if integer and isinstance(value, float) and not value.is_integer():
            return f"{value:g} is not a whole number (model.{name} is an integer)"
        try:
            type(model).model_validate({**model.model_dump(), name: value})
        except ValidationError as error:
            return f"{value!r} is not a valid model.{name} ({error.errors()[0]['msg']})"
    return None
