"""Tests for the train stage's pure functions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline.metrics import HIGHER_IS_BETTER, model_metrics
from {{ cookiecutter.package_name }}.pipeline.model import categorical_columns, fit_model
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.pipeline.prepare import features_and_target, split_dataset
from {{ cookiecutter.package_name }}.pipeline.train import staged_scores

EXAMPLE = Path(__file__).parents[1] / "data" / "{{ 'churn' if cookiecutter.task == 'classification' else 'spend' }}.csv"


def test_training_is_deterministic(dataset: pd.DataFrame, params: Params) -> None:
    """Two fits with the same params and data give identical metrics."""
    splits = split_dataset(dataset, "target", params.task, params.split, params.seed)
    x_train, y_train = features_and_target(splits.train, "target")
    x_val, y_val = features_and_target(splits.val, "target")
    scores = [
        model_metrics(
            fit_model(x_train, y_train, params.task, params.model, params.seed),
            x_val,
            y_val,
            params.task,
        )
        for _ in range(2)
    ]
    assert scores[0] == scores[1]


def test_learning_curve_has_one_point_per_iteration(dataset: pd.DataFrame, params: Params) -> None:
    """staged_scores yields each boosting iteration's validation score, and the model learns."""
    splits = split_dataset(dataset, "target", params.task, params.split, params.seed)
    x_train, y_train = features_and_target(splits.train, "target")
    x_val, y_val = features_and_target(splits.val, "target")
    model = fit_model(x_train, y_train, params.task, params.model, params.seed)
    curve = list(staged_scores(model, x_val, y_val))
    assert len(curve) == model.n_iter_
    name = next(iter(curve[0]))
    first, last = curve[0][name], curve[-1][name]
    assert (last > first) if HIGHER_IS_BETTER[name] else (last < first), (name, first, last)


def test_learning_curve_ends_at_the_final_scores(dataset: pd.DataFrame, params: Params) -> None:
    """The curve's last point is the fitted model's own validation score."""
    splits = split_dataset(dataset, "target", params.task, params.split, params.seed)
    x_train, y_train = features_and_target(splits.train, "target")
    x_val, y_val = features_and_target(splits.val, "target")
    model = fit_model(x_train, y_train, params.task, params.model, params.seed)
    last = list(staged_scores(model, x_val, y_val))[-1]
    final = model_metrics(model, x_val, y_val, params.task)
    assert last == pytest.approx({name: final[name] for name in last})


def test_text_columns_and_missing_values_go_through_the_model_itself(params: Params) -> None:
    """The encoding step is part of the model: raw text in, unseen and missing categories included."""
    example = pd.read_csv(EXAMPLE)
    target = "{{ 'churned' if cookiecutter.task == 'classification' else 'annual_spend' }}"
    splits = split_dataset(example, target, params.task, params.split, params.seed)
    x_train, y_train = features_and_target(splits.train, target)
    x_val, y_val = features_and_target(splits.val, target)

    model = fit_model(x_train, y_train, params.task, params.model, params.seed)

    assert categorical_columns(x_train) == ["plan", "region"]
    assert x_train["region"].isna().any(), "the example has missing categories"
    rows = x_val.head(3).assign(
        plan=["gold", "pro", "pro"]
    )  # an unseen category counts as missing,
    rows.loc[rows.index[1], "plan"] = None  # and so does a missing one
    assert len(model.predict(rows)) == 3
    curve = list(staged_scores(model, x_val, y_val))
    final = model_metrics(model, x_val, y_val, params.task)
    assert curve[-1] == pytest.approx({name: final[name] for name in curve[-1]})
