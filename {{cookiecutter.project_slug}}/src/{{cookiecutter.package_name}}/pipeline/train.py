"""Train stage: fit the model, track the run in MLflow (curves, test metrics, plots), register the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
from loguru import logger
from sklearn.ensemble import HistGradientBoostingClassifier

from ..provenance import dvc_output_hashes
from ..settings import Settings
from . import PipelineError
from .metrics import curve_metrics, model_metrics, rmse, score_test_split
from .model import MODEL_DIR, TRUSTED_TYPES, Model, fit_model
from .params import Params, Task
from .plots import draw, evaluation_plots
from .prepare import features_and_target, read_splits

RUN_FILE = "run.json"


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
    from ..tracking import (
        LoguruCallback,
        RunCallback,
        ThresholdAlertCallback,
        tracked_run,
    )
    from ..tracking.registry import log_and_register
    from ..tracking.store import connect, project_experiment_id

    splits = read_splits(settings.data_dir)
    x_train, y_train = features_and_target(splits.train, params.data.target)
    x_val, y_val = features_and_target(splits.val, params.data.target)
    x_test, y_test = features_and_target(splits.test, params.data.target)
    try:
        data_hash = dvc_output_hashes(settings.project_root).get("data/prepared", "")
    except ValueError as error:  # a corrupt dvc.lock: the message names it
        raise PipelineError(f"{error}; restore it from git (git checkout dvc.lock)") from None
    callbacks: list[RunCallback] = [
        LoguruCallback(),
        ThresholdAlertCallback(
            {name: (b.min, b.max) for name, b in params.alerts.limits.items()},
            fail=params.alerts.fail,
        ),
    ]
    experiment_id = project_experiment_id(settings, connect(settings))
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
        test = score_test_split(model, splits.test, params)
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
            nullable_columns=[str(name) for name in x_train.columns[x_train.isna().any()]],
        )
        record = {"run_id": tracked.run_id, "model_name": settings.model_name, "version": version}
    (settings.models_dir / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")
    logger.success(
        "registered {} version {} (run {})", settings.model_name, version, record["run_id"]
    )
    return record
