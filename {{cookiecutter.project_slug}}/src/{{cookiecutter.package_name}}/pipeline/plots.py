"""Plot data of a fitted model on labelled rows: CSV tables for DVC plots, figures for MLflow."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics

from .metrics import predicted_classes
from .params import Task

if TYPE_CHECKING:  # matplotlib loads only when a figure is drawn
    from matplotlib.figure import Figure


def classification_plots(
    model: Any, features: pd.DataFrame, target: pd.Series
) -> dict[str, pd.DataFrame]:
    """Confusion-matrix rows (actual, predicted) and, for two classes, the ROC curve."""
    proba = model.predict_proba(features)
    predicted = predicted_classes(proba, model.classes_)
    plots = {"confusion": pd.DataFrame({"actual": target.to_numpy(), "predicted": predicted})}
    if len(model.classes_) == 2:
        fpr, tpr, _ = metrics.roc_curve(target, proba[:, 1], pos_label=model.classes_[1])
        plots["roc"] = pd.DataFrame({"fpr": fpr, "tpr": tpr}).round(6)
    return plots


def regression_plots(
    model: Any, features: pd.DataFrame, target: pd.Series
) -> dict[str, pd.DataFrame]:
    """Residuals against predictions, and predictions against actual values."""
    predicted = model.predict(features)
    actual = target.to_numpy()
    return {
        "residuals": pd.DataFrame({"predicted": predicted, "residual": actual - predicted}).round(
            6
        ),
        "predicted_vs_actual": pd.DataFrame({"actual": actual, "predicted": predicted}).round(6),
    }


def evaluation_plots(
    model: Any, features: pd.DataFrame, target: pd.Series, task: Task
) -> dict[str, pd.DataFrame]:
    """The plot data for the task."""
    if task == "classification":
        return classification_plots(model, features, target)
    return regression_plots(model, features, target)


def draw(name: str, data: pd.DataFrame) -> Figure:
    """A matplotlib figure of one plot's data, for the MLflow run.

    A bare Figure, not pyplot: no global figure state to close, no GUI backend to pick.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5, 4))
    axes = figure.subplots()
    if name == "confusion":
        table = pd.crosstab(data["actual"], data["predicted"])
        axes.imshow(table.to_numpy(), cmap="Blues")
        for (row, col), count in np.ndenumerate(table.to_numpy()):
            axes.text(col, row, str(count), ha="center", va="center")
        axes.set(xticks=range(len(table.columns)), yticks=range(len(table.index)))
        axes.set(xticklabels=table.columns, yticklabels=table.index)
    else:
        x, y = data.columns[:2]
        if name == "roc":
            axes.plot(data[x], data[y])
            axes.plot([0, 1], [0, 1], linestyle="--", color="grey")
        else:
            axes.scatter(data[x], data[y], s=8)
        axes.set(ylabel=y)
    axes.set(title=name.replace("_", " "), xlabel=data.columns[1 if name == "confusion" else 0])
    figure.tight_layout()
    return figure
