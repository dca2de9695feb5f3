"""Model quality metrics per task, shared by the train and evaluate stages and the deploy gate."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics

from .params import TASK_METRICS, Params, Task
from .prepare import features_and_target

# Direction of each metric: True when higher is better (the deploy gate compares candidates with it).
HIGHER_IS_BETTER = {name: up for table in TASK_METRICS.values() for name, up in table.items()}


def predicted_classes(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """The most probable class of each row."""
    predicted: np.ndarray = classes[np.argmax(proba, axis=1)]
    return predicted


def curve_metrics(y_true: pd.Series, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """Accuracy and log loss: the classification scores cheap enough to take at every boosting iteration."""
    return {
        "accuracy": float(metrics.accuracy_score(y_true, predicted_classes(proba, classes))),
        "log_loss": float(metrics.log_loss(y_true, proba, labels=classes)),
    }


def classification_metrics(
    y_true: pd.Series, proba: np.ndarray, classes: np.ndarray, only: Collection[str] = ()
) -> dict[str, float]:
    """Accuracy, F1, ROC AUC and log loss from predicted class probabilities (or `only` those named)."""
    predicted = predicted_classes(proba, classes)
    binary = len(classes) == 2
    scorers: dict[str, Callable[[], Any]] = {
        "accuracy": lambda: metrics.accuracy_score(y_true, predicted),
        # Binary: the second class (in sorted order, as ROC AUC takes it) is the positive one, whatever
        # the labels are (0/1, "no"/"yes").
        "f1": lambda: (
            metrics.f1_score(y_true, predicted, average="binary", pos_label=classes[1])
            if binary
            else metrics.f1_score(y_true, predicted, average="macro")
        ),
        "roc_auc": lambda: (
            metrics.roc_auc_score(y_true, proba[:, 1])
            if binary
            else metrics.roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
        ),
        "log_loss": lambda: metrics.log_loss(y_true, proba, labels=classes),
    }
    return {name: float(score()) for name, score in scorers.items() if not only or name in only}


def rmse(y_true: pd.Series, predicted: np.ndarray) -> float:
    """Root mean squared error: the regression score taken at every boosting iteration."""
    return float(metrics.root_mean_squared_error(y_true, predicted))


def regression_metrics(
    y_true: pd.Series, predicted: np.ndarray, only: Collection[str] = ()
) -> dict[str, float]:
    """RMSE, MAE and R² of predictions (or `only` those named)."""
    scorers: dict[str, Callable[[], Any]] = {
        "rmse": lambda: rmse(y_true, predicted),
        "mae": lambda: metrics.mean_absolute_error(y_true, predicted),
        "r2": lambda: metrics.r2_score(y_true, predicted),
    }
    return {name: float(score()) for name, score in scorers.items() if not only or name in only}


def model_metrics(
    model: Any, features: pd.DataFrame, target: pd.Series, task: Task, only: Collection[str] = ()
) -> dict[str, float]:
    """Score a fitted scikit-learn model on labelled rows: every metric of the task, or `only` those named."""
    if task == "classification":
        return classification_metrics(target, model.predict_proba(features), model.classes_, only)
    return regression_metrics(target, model.predict(features), only)


def score_test_split(model: Any, test: pd.DataFrame, params: Params) -> dict[str, float]:
    """The task's metrics of a fitted model on the held-out test split.

    What train logs, evaluate writes for DVC and the deploy gate judges: one function computes them all.
    """
    features, target = features_and_target(test, params.data.target)
    return model_metrics(model, features, target, params.task)
