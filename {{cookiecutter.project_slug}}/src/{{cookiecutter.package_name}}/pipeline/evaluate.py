"""Evaluate stage: score the saved model on the held-out test split; metrics.json and plot data for DVC.

The training run already holds the same test metrics and plots in MLflow (the train stage logs them), so this
stage scores the DVC-tracked model folder without MLflow: skops reads the model file MLflow wrote in it.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from loguru import logger

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.metrics import model_metrics
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.pipeline.plots import evaluation_plots
from {{ cookiecutter.package_name }}.pipeline.prepare import read_splits
from {{ cookiecutter.package_name }}.pipeline.train import (
    MODEL_DIR,
    TRUSTED_TYPES,
    Model,
    features_and_target,
)
from {{ cookiecutter.package_name }}.settings import Settings

METRICS_FILE = "metrics.json"
PLOTS_DIR = "reports/plots"


def load_saved_model(model_dir: Path) -> Model:
    """The scikit-learn model in an MLflow model folder that the train stage wrote.

    Read with skops, the format MLflow saved it in, trusting only this project's model types: importing
    MLflow for this would cost the stage ~2 s.
    """
    import skops.io

    flavor = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]["sklearn"]
    if flavor.get("serialization_format") != "skops":
        raise PipelineError(f"{model_dir}: not a skops-serialised model; run `make train` again")
    return skops.io.load(model_dir / flavor["pickled_model"], trusted=TRUSTED_TYPES)


def run(settings: Settings, params: Params) -> dict[str, float]:
    """Stage runner: write metrics.json and the plot data of the model in models/."""
    model = load_saved_model(settings.models_dir / MODEL_DIR)
    features, target = features_and_target(read_splits(settings.data_dir).test, params.data.target)
    scores = model_metrics(model, features, target, params.task)
    root = settings.project_root
    (root / METRICS_FILE).write_text(json.dumps(scores, indent=2) + "\n")
    plots_dir = root / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    for name, data in evaluation_plots(model, features, target, params.task).items():
        data.to_csv(plots_dir / f"{name}.csv", index=False)
    logger.info("test metrics: {}", {name: round(value, 4) for name, value in scores.items()})
    return scores


def read_metrics(root: Path) -> dict[str, float]:
    """The test metrics the last evaluation wrote."""
    scores: dict[str, float] = json.loads((root / METRICS_FILE).read_text())
    return scores
