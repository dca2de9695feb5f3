"""The objective of a trial: the project's model with the trial's parameters, scored on the validation split.

It trains as the train stage does (the same splits, model builder and scorer) and never looks at the test split,
which stays the deploy gate's. The boosting rounds are fitted in steps (scikit-learn's warm start gives the
same model as one fit), each step's validation score is reported to Optuna, and a trial whose curve lags the
others' is pruned before it has paid for all its rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sklearn.pipeline import Pipeline

from ..pipeline.metrics import model_metrics
from ..pipeline.model import Model, build_model, categorical_columns
from ..pipeline.params import ModelParams, Params
from ..pipeline.prepare import Splits, features_and_target

if TYPE_CHECKING:
    from optuna.trial import BaseTrial

Checkpoint = Callable[[int, float], None]  # (boosting rounds so far, validation score)


def suggest(trial: BaseTrial, params: Params) -> dict[str, Any]:
    """The trial's value of each searched parameter, drawn from its distribution in `tune.space`."""
    assert params.tune is not None
    values: dict[str, Any] = {}
    for name, space in params.tune.space.items():
        low, high = float(space.low or 0), float(space.high or 0)  # a range has both (search_space)
        if space.choices is not None:
            values[name] = trial.suggest_categorical(name, space.choices)
        elif ModelParams.model_fields[name].annotation is int:
            step = int(space.step or 1)
            values[name] = trial.suggest_int(name, int(low), int(high), step=step, log=space.log)
        else:
            values[name] = trial.suggest_float(name, low, high, step=space.step, log=space.log)
    return values


def rounds_to_report(max_iter: int, checkpoints: int) -> list[int]:
    """The boosting rounds after which a trial reports its score: evenly spaced, the last one included."""
    return sorted({math.ceil(max_iter * k / checkpoints) for k in range(1, checkpoints + 1)})


@dataclass(frozen=True)
class Objective:
    """Train with a trial's parameters, report the validation score at each checkpoint, return the last one."""

    params: Params
    splits: Splits

    def __call__(self, trial: BaseTrial, on_checkpoint: Checkpoint | None = None) -> float:
        """Score one trial; raise optuna.TrialPruned when Optuna's pruner says so."""
        model_params = ModelParams.model_validate(
            {**self.params.model.model_dump(), **suggest(trial, self.params)}
        )
        return self.score(model_params, trial, on_checkpoint)

    def score(
        self, model_params: ModelParams, trial: BaseTrial, on_checkpoint: Checkpoint | None
    ) -> float:
        """The validation score of a model with the trial's parameters, fitted checkpoint by checkpoint."""
        import optuna

        assert self.params.tune is not None
        metric, _ = self.params.tuned_metric()
        target, task = self.params.data.target, self.params.task
        x_train, y_train = features_and_target(self.splits.train, target)
        x_val, y_val = features_and_target(self.splits.val, target)
        model = build_model(task, model_params, self.params.seed, categorical_columns(x_train))
        estimator = _estimator(model)
        estimator.set_params(warm_start=True)
        score = math.nan
        for rounds in rounds_to_report(model_params.max_iter, self.params.tune.checkpoints):
            estimator.set_params(max_iter=rounds)
            model.fit(x_train, y_train)
            score = model_metrics(model, x_val, y_val, task, only=[metric])[metric]
            if on_checkpoint:
                on_checkpoint(rounds, score)
            trial.report(score, rounds)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after {rounds} rounds ({metric} {score:.4g})")
        return score


def _estimator(model: Model) -> Any:
    """The boosting estimator inside the model (the last step of a model with an encoding step)."""
    return model[-1] if isinstance(model, Pipeline) else model
