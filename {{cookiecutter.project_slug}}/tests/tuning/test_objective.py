"""The objective: the project's own model and scorer on the validation split, reported checkpoint by checkpoint."""

from __future__ import annotations

import optuna
import pytest

from {{ cookiecutter.package_name }}.pipeline.metrics import model_metrics
from {{ cookiecutter.package_name }}.pipeline.model import fit_model
from {{ cookiecutter.package_name }}.pipeline.params import ModelParams, Params
from {{ cookiecutter.package_name }}.pipeline.prepare import features_and_target, read_splits
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tuning.objective import Objective, rounds_to_report


def test_checkpoints_are_even_and_end_on_the_last_round() -> None:
    """Scores are reported evenly over the rounds, the last round included, never twice."""
    assert rounds_to_report(100, 4) == [25, 50, 75, 100]
    assert rounds_to_report(30, 4) == [8, 15, 23, 30]
    assert rounds_to_report(3, 10) == [1, 2, 3]


def test_a_trial_scores_what_train_would_on_the_validation_split(
    prepared: Settings, quick_params: Params
) -> None:
    """Fitted by checkpoints, the trial's model is the one `make train` fits; its score is the val metric."""
    splits = read_splits(prepared.data_dir)
    trial = optuna.trial.FixedTrial({"learning_rate": 0.1, "max_iter": 20, "max_leaf_nodes": 7})
    seen: list[tuple[int, float]] = []
    value = Objective(quick_params, splits)(trial, on_checkpoint=lambda r, s: seen.append((r, s)))

    chosen = ModelParams.model_validate(
        {
            **quick_params.model.model_dump(),
            "learning_rate": 0.1,
            "max_iter": 20,
            "max_leaf_nodes": 7,
        }
    )
    target = quick_params.data.target
    x_train, y_train = features_and_target(splits.train, target)
    x_val, y_val = features_and_target(splits.val, target)
    model = fit_model(x_train, y_train, quick_params.task, chosen, quick_params.seed)
    metric, _ = quick_params.tuned_metric()
    assert value == model_metrics(model, x_val, y_val, quick_params.task)[metric]
    assert [rounds for rounds, _ in seen] == [5, 10, 15, 20]
    assert seen[-1][1] == value


def test_a_lagging_trial_is_pruned_at_a_checkpoint(
    prepared: Settings, quick_params: Params
) -> None:
    """The pruner sees every checkpoint: a trial far behind the others stops before its last round."""
    splits = read_splits(prepared.data_dir)
    _, higher = quick_params.tuned_metric()
    study = optuna.create_study(
        direction="maximize" if higher else "minimize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    objective = Objective(quick_params, splits)
    good = {"learning_rate": 0.3, "max_iter": 30, "max_leaf_nodes": 15}
    study.enqueue_trial(good)
    study.enqueue_trial({**good, "learning_rate": 0.05, "max_leaf_nodes": 7})
    rounds: list[int] = []
    study.optimize(lambda trial: objective(trial, lambda r, _: rounds.append(r)), n_trials=2)
    states = [trial.state for trial in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    assert rounds[:4] == [8, 15, 23, 30], "the first trial runs to its end"
    assert len(rounds) < 8, f"the second stops early: {rounds}"


def test_the_test_split_is_never_read(prepared: Settings, quick_params: Params) -> None:
    """The objective scores on validation rows only: the test split stays the gate's."""
    splits = read_splits(prepared.data_dir)
    blind = splits._replace(test=splits.test.iloc[0:0])
    trial = optuna.trial.FixedTrial({"learning_rate": 0.1, "max_iter": 10, "max_leaf_nodes": 7})
    assert Objective(quick_params, blind)(trial) == pytest.approx(
        Objective(quick_params, splits)(trial)
    )
