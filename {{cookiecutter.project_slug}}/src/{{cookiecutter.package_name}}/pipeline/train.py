"""Train stage: fit the model, track the run in MLflow (curves, test metrics, plots), register the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from loguru import logger
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from {{ cookiecutter.package_name }}.pipeline.metrics import curve_metrics, model_metrics, rmse
from {{ cookiecutter.package_name }}.pipeline.params import ModelParams, Params, Task
from {{ cookiecutter.package_name }}.pipeline.plots import draw, evaluation_plots
from {{ cookiecutter.package_name }}.pipeline.prepare import read_splits
from {{ cookiecutter.package_name }}.provenance import dvc_output_hashes
from {{ cookiecutter.package_name }}.settings import Settings

MODEL_DIR = "model"
RUN_FILE = "run.json"
# Classes inside a fitted model that skops (MLflow's format for it) loads only when told to trust them;
# this project writes these models itself, so it trusts them.
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
# A fitted HistGradientBoosting{Classifier,Regressor}; scikit-learn ships no type information.
Model = Any


def features_and_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the predicted column from the features."""
    return frame.drop(columns=[target]), frame[target]


def build_model(task: Task, params: ModelParams, seed: int) -> Model:
    """An unfitted model for the task; early stopping is off so runs are deterministic."""
    kind = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )
    return kind(**params.model_dump(), early_stopping=False, random_state=seed)


def fit_model(
    features: pd.DataFrame, target: pd.Series, task: Task, params: ModelParams, seed: int
) -> Model:
    """Fit a fresh model on the training rows."""
    return build_model(task, params, seed).fit(features, target)


def staged_scores(
    model: Model, features: pd.DataFrame, target: pd.Series, task: Task
) -> Iterator[dict[str, float]]:
    """Validation scores after each boosting iteration (the learning curve).

    Only the curve's own metrics are computed per iteration: the full set costs ~10 ms each time.
    """
    if isinstance(model, HistGradientBoostingClassifier):
        for proba in model.staged_predict_proba(features):
            yield curve_metrics(target, proba, model.classes_)
    else:
        for predicted in model.staged_predict(features):
            yield {"rmse": rmse(target, predicted)}


def log_plots(plots: dict[str, pd.DataFrame]) -> None:
    """Log each plot as a PNG figure to the active run, under plots/."""
    import mlflow

    for name, data in plots.items():
        mlflow.log_figure(draw(name, data), f"plots/{name}.png")


def run(settings: Settings, params: Params) -> dict[str, Any]:
    """Stage runner: fit, log the run and the model to MLflow, register it, write models/."""
    # MLflow loads only here, so the pure functions above import without it (in tests, notebooks, evaluate).
    from {{ cookiecutter.package_name }}.tracking import (
        LoguruCallback,
        RunCallback,
        ThresholdAlertCallback,
        tracked_run,
    )
    from {{ cookiecutter.package_name }}.tracking.experiment import use_project_experiment
    from {{ cookiecutter.package_name }}.tracking.registry import log_and_register

    splits = read_splits(settings.data_dir)
    x_train, y_train = features_and_target(splits.train, params.data.target)
    x_val, y_val = features_and_target(splits.val, params.data.target)
    x_test, y_test = features_and_target(splits.test, params.data.target)
    data_hash = dvc_output_hashes(settings.project_root).get("data/prepared", "")
    callbacks: list[RunCallback] = [
        LoguruCallback(),
        ThresholdAlertCallback(
            {name: (b.min, b.max) for name, b in params.alerts.limits.items()},
            fail=params.alerts.fail,
        ),
    ]
    experiment_id = use_project_experiment(settings)
    tracked_params = params.model_dump(include={"task", "seed", "data", "split", "model"})
    with tracked_run(
        "train",
        params=tracked_params,
        tags={"data.md5": data_hash},
        callbacks=callbacks,
        experiment_id=experiment_id,
    ) as tracked:
        logger.info("training on {} rows, validating on {}", len(x_train), len(x_val))
        model = fit_model(x_train, y_train, params.task, params.model, params.seed)
        for step, scores in enumerate(staged_scores(model, x_val, y_val, params.task), start=1):
            tracked.log_metrics({f"val_{name}": value for name, value in scores.items()}, step=step)
        final = model_metrics(model, x_val, y_val, params.task)
        tracked.log_metrics({f"val_{name}": value for name, value in final.items()})
        test = model_metrics(model, x_test, y_test, params.task)
        tracked.log_metrics({f"test_{name}": value for name, value in test.items()})
        tracked.flush()
        log_plots(evaluation_plots(model, x_test, y_test, params.task))
        version = log_and_register(
            model,
            x_train.head(5),
            name=settings.model_name,
            local_dir=settings.models_dir / MODEL_DIR,
            version_tags={"data.md5": data_hash} if data_hash else {},
            trusted_types=TRUSTED_TYPES,
        )
        record = {"run_id": tracked.run_id, "model_name": settings.model_name, "version": version}
    (settings.models_dir / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")
    logger.success(
        "registered {} version {} (run {})", settings.model_name, version, record["run_id"]
    )
    return record
