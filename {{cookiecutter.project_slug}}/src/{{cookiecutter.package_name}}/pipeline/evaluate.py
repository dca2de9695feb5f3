"""Evaluate stage: score the trained model on the held-out test split; metrics and plots for DVC and MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from loguru import logger
from sklearn import metrics

from {{ cookiecutter.package_name }}.pipeline.metrics import model_metrics
from {{ cookiecutter.package_name }}.pipeline.params import Params, Task
from {{ cookiecutter.package_name }}.pipeline.prepare import read_splits
from {{ cookiecutter.package_name }}.pipeline.train import MODEL_DIR, features_and_target, read_run_record
from {{ cookiecutter.package_name }}.settings import Settings

METRICS_FILE = "metrics.json"
PLOTS_DIR = "reports/plots"


def classification_plots(
    model: Any, features: pd.DataFrame, target: pd.Series
) -> dict[str, pd.DataFrame]:
    """Confusion-matrix rows (actual, predicted) and, for two classes, the ROC curve."""
    proba = model.predict_proba(features)
    predicted = model.classes_[np.argmax(proba, axis=1)]
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


def draw(name: str, data: pd.DataFrame) -> Any:
    """A matplotlib figure of one plot's data, for the MLflow run."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 4))
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


def run(settings: Settings, params: Params) -> dict[str, float]:
    """Stage runner: write metrics.json and the plot data; log both to the training run."""
    import mlflow
    from matplotlib import pyplot as plt

    from {{ cookiecutter.package_name }}.tracking import tracked_run
    from {{ cookiecutter.package_name }}.tracking.experiment import use_project_experiment

    model = mlflow.sklearn.load_model(str(settings.models_dir / MODEL_DIR))
    features, target = features_and_target(read_splits(settings.data_dir).test, params.data.target)
    scores = model_metrics(model, features, target, params.task)
    root = settings.project_root
    (root / METRICS_FILE).write_text(json.dumps(scores, indent=2) + "\n")
    plots = evaluation_plots(model, features, target, params.task)
    plots_dir = root / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    for name, data in plots.items():
        data.to_csv(plots_dir / f"{name}.csv", index=False)

    experiment_id = use_project_experiment(settings)
    run_id = read_run_record(settings.models_dir)["run_id"]
    with tracked_run(run_id=run_id, experiment_id=experiment_id) as tracked:
        tracked.log_metrics({f"test_{name}": value for name, value in scores.items()})
        for name, data in plots.items():
            figure = draw(name, data)
            mlflow.log_figure(figure, f"plots/{name}.png")
            plt.close(figure)
        mlflow.log_artifact(str(root / METRICS_FILE))
    logger.info("test metrics: {}", {name: round(value, 4) for name, value in scores.items()})
    return scores


def read_metrics(root: Path) -> dict[str, float]:
    """The test metrics the last evaluation wrote."""
    scores: dict[str, float] = json.loads((root / METRICS_FILE).read_text())
    return scores
