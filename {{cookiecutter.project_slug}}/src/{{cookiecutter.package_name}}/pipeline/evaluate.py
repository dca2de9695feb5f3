"""Evaluate stage: score the saved model on the held-out test split; metrics.json and plot data for DVC.

The training run already holds the same test metrics and plots in MLflow (the train stage logs them), so this
stage scores the DVC-tracked model folder without MLflow: skops reads the model file MLflow wrote in it.
"""

from __future__ import annotations

import json

from loguru import logger

from ..settings import Settings
from .metrics import score_test_split
from .model import MODEL_DIR, load_saved_model
from .params import Params
from .plots import evaluation_plots
from .prepare import features_and_target, read_splits

METRICS_FILE = "metrics.json"
PLOTS_DIR = "reports/plots"


def run(settings: Settings, params: Params) -> dict[str, float]:
    """Stage runner: write metrics.json and the plot data of the model in models/."""
    model = load_saved_model(settings.models_dir / MODEL_DIR)
    test = read_splits(settings.data_dir).test
    scores = score_test_split(model, test, params)
    root = settings.project_root
    (root / METRICS_FILE).write_text(json.dumps(scores, indent=2) + "\n")
    plots_dir = root / PLOTS_DIR
    plots_dir.mkdir(parents=True, exist_ok=True)
    features, target = features_and_target(test, params.data.target)
    for name, data in evaluation_plots(model, features, target, params.task).items():
        data.to_csv(plots_dir / f"{name}.csv", index=False)
    logger.info("test metrics: {}", {name: round(value, 4) for name, value in scores.items()})
    return scores
