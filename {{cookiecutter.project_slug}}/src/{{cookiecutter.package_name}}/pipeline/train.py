"""Train stage: fit the model, track the run in MLflow (curves, test metrics, plots), register the model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
from loguru import logger
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline

from ..provenance import dvc_output_hashes
from ..settings import Settings
from . import PipelineError
from .contract import serving_rules
from .ingest import RAW_CONTRACT
from .metrics import curve_metrics, model_metrics, rmse, score_test_split
from .model import MODEL_DIR, TRUSTED_TYPES, Model, fit_model
from .params import Params
from .plots import draw, evaluation_plots
from .prepare import PREPARED_DIR, Splits, features_and_target, read_splits

if TYPE_CHECKING:
    from ..tracking import RunCallback, TrackedRun

RUN_FILE = "run.json"


def staged_scores(
    model: Model, features: pd.DataFrame, target: pd.Series
) -> Iterator[dict[str, float]]:
    """Validation scores after each boosting iteration (the learning curve).

    Only the curve's own metrics are computed per iteration: the full set costs ~10 ms each time. A model with
    an encoding step encodes the rows once, then its estimator scores each stage.
    """
    estimator = model
    if isinstance(model, Pipeline):
        features, estimator = model[:-1].transform(features), model[-1]
    if isinstance(estimator, HistGradientBoostingClassifier):
        for proba in estimator.staged_predict_proba(features):
            yield curve_metrics(target, proba, estimator.classes_)
    else:
        for predicted in estimator.staged_predict(features):
            yield {"rmse": rmse(target, predicted)}


def log_plots(plots: dict[str, pd.DataFrame]) -> None:
    """Log each plot as a PNG figure to the active run, under plots/."""
    import mlflow

    for name, data in plots.items():
        mlflow.log_figure(draw(name, data), f"plots/{name}.png")


def consumed_data_hash(settings: Settings) -> str:
    """The md5 DVC recorded for the prepared data this run trains on ("" before the first `dvc repro`)."""
    try:
        return dvc_output_hashes(settings.project_root).get("data/prepared", "")
    except ValueError as error:  # a corrupt dvc.lock: the message names it
        raise PipelineError(f"{error}; restore it from git (git checkout dvc.lock)") from None


def log_splits(tracked: TrackedRun, splits: Splits, data_hash: str, target: str) -> None:
    """The three splits as the run's MLflow dataset inputs: the UI's Dataset column, `search_runs`.

    Each names its DVC path as source and carries DVC's md5 of data/prepared as digest, so a reader finds
    the data a run consumed without knowing the project's tags. Skipped once the run writes to its spool
    (the spool replays metrics, params and tags only) and before the first `dvc repro` (no hash yet).
    """
    import warnings

    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    if tracked.spool is not None or not data_hash:
        return
    for context, frame in splits._asdict().items():
        source = f"data/{PREPARED_DIR}/{context}.csv"
        with warnings.catch_warnings():
            # MLflow registers two local-file sources that both match a path, and warns that it picks one.
            warnings.simplefilter("ignore", UserWarning)
            dataset = from_pandas(
                frame, source=source, name=context, digest=data_hash, targets=target
            )
        mlflow.log_input(dataset, context=context)


def callbacks_of(params: Params) -> list[RunCallback]:
    """The run's callbacks: loguru logging, and the alerts of params.yaml."""
    from ..tracking import LoguruCallback, ThresholdAlertCallback

    limits = {name: (bounds.min, bounds.max) for name, bounds in params.alerts.limits.items()}
    return [LoguruCallback(), ThresholdAlertCallback(limits, fail=params.alerts.fail)]


def log_scores(tracked: TrackedRun, model: Model, splits: Splits, params: Params) -> None:
    """The learning curve, the final validation scores and the test scores, into the run."""
    x_val, y_val = features_and_target(splits.val, params.data.target)
    for step, scores in enumerate(staged_scores(model, x_val, y_val), start=1):
        tracked.log_metrics({f"val_{name}": value for name, value in scores.items()}, step=step)
    final = model_metrics(model, x_val, y_val, params.task)
    tracked.log_metrics({f"val_{name}": value for name, value in final.items()})
    test = score_test_split(model, splits.test, params)
    tracked.log_metrics({f"test_{name}": value for name, value in test.items()})
    tracked.flush()
    x_test, y_test = features_and_target(splits.test, params.data.target)
    log_plots(evaluation_plots(model, x_test, y_test, params.task))


def feature_rules(settings: Settings, features: list[str]) -> dict[str, Any]:
    """The rules of the contract ingest checked the data against, for the feature columns (none without one)."""
    contract = settings.data_dir / RAW_CONTRACT
    return serving_rules(contract, features) if contract.is_file() else {}


def run(settings: Settings, params: Params) -> dict[str, Any]:
    """Stage runner: fit, log the run and the model to MLflow, register it, write models/."""
    # MLflow loads only here, so the pure functions above import without it (in tests, notebooks, evaluate).
    from ..tracking import tracked_run
    from ..tracking.registry import log_and_register
    from ..tracking.store import connect, project_experiment_id

    splits = read_splits(settings.data_dir)
    x_train, y_train = features_and_target(splits.train, params.data.target)
    data_hash = consumed_data_hash(settings)
    with tracked_run(
        "train",
        params=params.model_dump(include={"task", "seed", "data", "split", "model"}),
        tags={"data.md5": data_hash},
        callbacks=callbacks_of(params),
        experiment_id=project_experiment_id(settings, connect(settings)),
    ) as tracked:
        logger.info("training on {} rows, validating on {}", len(x_train), len(splits.val))
        log_splits(tracked, splits, data_hash, params.data.target)
        model = fit_model(x_train, y_train, params.task, params.model, params.seed)
        log_scores(tracked, model, splits, params)
        version = log_and_register(
            model,
            x_train.head(5),
            name=settings.model_name,
            local_dir=settings.models_dir / MODEL_DIR,
            version_tags={"data.md5": data_hash} if data_hash else {},
            trusted_types=TRUSTED_TYPES,
            nullable_columns=[str(name) for name in x_train.columns[x_train.isna().any()]],
            contract_rules=feature_rules(settings, list(map(str, x_train.columns))),
        )
        record = {"run_id": tracked.run_id, "model_name": settings.model_name, "version": version}
    (settings.models_dir / RUN_FILE).write_text(json.dumps(record, indent=2) + "\n")
    logger.success(
        "registered {} version {} (run {})", settings.model_name, version, record["run_id"]
    )
    return record
