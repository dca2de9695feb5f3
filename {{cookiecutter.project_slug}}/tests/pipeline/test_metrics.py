"""Tests for the metric functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline.metrics import (
    HIGHER_IS_BETTER,
    classification_metrics,
    regression_metrics,
)


def test_classification_metrics_on_known_values() -> None:
    """A perfect ranking with one thresholding mistake scores as computed by hand."""
    truth = pd.Series([0, 0, 1, 1])
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    scores = classification_metrics(truth, proba, np.array([0, 1]))
    assert scores["accuracy"] == pytest.approx(0.75)
    assert scores["roc_auc"] == pytest.approx(1.0)
    assert scores["f1"] == pytest.approx(0.8)


def test_text_labels_score_like_numbers() -> None:
    """Labels "no"/"yes" (a CSV's own target): the second class is the positive one, as for 0/1."""
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    numbers = classification_metrics(pd.Series([0, 0, 1, 1]), proba, np.array([0, 1]))
    words = classification_metrics(
        pd.Series(["no", "no", "yes", "yes"]), proba, np.array(["no", "yes"])
    )
    assert words == pytest.approx(numbers)


def test_only_the_named_metrics_are_computed() -> None:
    """`only` returns the named metrics, with the values the full set has."""
    proba = np.array([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]])
    truth, classes = pd.Series([0, 0, 1, 1]), np.array([0, 1])
    every = classification_metrics(truth, proba, classes)
    assert classification_metrics(truth, proba, classes, only=["roc_auc"]) == {
        "roc_auc": every["roc_auc"]
    }
    assert regression_metrics(pd.Series([1.0, 3.0]), np.array([2.0, 2.0]), only=["r2"]) == {
        "r2": regression_metrics(pd.Series([1.0, 3.0]), np.array([2.0, 2.0]))["r2"]
    }


def test_regression_metrics_on_known_values() -> None:
    """Errors of 1 and -1 give RMSE 1 and MAE 1."""
    scores = regression_metrics(pd.Series([1.0, 3.0]), np.array([2.0, 2.0]))
    assert scores["rmse"] == pytest.approx(1.0)
    assert scores["mae"] == pytest.approx(1.0)


def test_every_metric_has_a_direction() -> None:
    """The deploy gate knows which way is better for every metric computed."""
    truth = pd.Series([0, 1])
    names = {
        *classification_metrics(truth, np.array([[0.8, 0.2], [0.3, 0.7]]), np.array([0, 1])),
        *regression_metrics(truth, np.array([0.0, 1.0])),
    }
    assert names <= set(HIGHER_IS_BETTER)
