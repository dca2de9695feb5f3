"""Tests for the plot data and figures of a fitted model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline.model import Model, fit_model
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.pipeline.plots import draw, evaluation_plots
from {{ cookiecutter.package_name }}.pipeline.prepare import Splits, features_and_target, split_dataset


@pytest.fixture(scope="module")
def splits(dataset: pd.DataFrame, params: Params) -> Splits:
    """The default dataset, split."""
    return split_dataset(dataset, "target", params.task, params.split, params.seed)


@pytest.fixture(scope="module")
def model(splits: Splits, params: Params) -> Model:
    """A model fitted on the training split."""
    return fit_model(
        *features_and_target(splits.train, "target"), params.task, params.model, params.seed
    )


def test_plot_data_describes_every_test_row(splits: Splits, model: Model, params: Params) -> None:
    """Each plot table is complete; the task's plots hold what their names say."""
    features, target = features_and_target(splits.test, "target")
    plots = evaluation_plots(model, features, target, params.task)
    for data in plots.values():
        assert not data.isna().to_numpy().any()
    if params.task == "classification":
        assert len(plots["confusion"]) == len(features)
        assert set(plots["confusion"]["predicted"]) <= set(target)
        roc = plots["roc"]
        assert (roc.iloc[0]["fpr"], roc.iloc[-1]["tpr"]) == (0.0, 1.0)
        assert roc["fpr"].is_monotonic_increasing
        assert roc["tpr"].is_monotonic_increasing
    else:
        residuals = plots["residuals"]
        assert len(residuals) == len(features)
        np.testing.assert_allclose(
            residuals["predicted"] + residuals["residual"], target.to_numpy(), atol=1e-5
        )


def test_each_plot_draws_a_titled_figure(splits: Splits, model: Model, params: Params) -> None:
    """draw() turns every plot table into a figure for the MLflow run."""
    features, target = features_and_target(splits.test, "target")
    for name, data in evaluation_plots(model, features, target, params.task).items():
        assert draw(name, data).axes[0].get_title() == name.replace("_", " ")
