"""The model: the estimator each task fits, where the train stage saves it, and how to read it back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from . import PipelineError
from .params import ModelParams, Task

MODEL_DIR = "model"
# Classes inside a fitted model that skops (MLflow's format for it) loads only when told to trust them;
# this project writes these models itself, so it trusts them.
TRUSTED_TYPES = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
# A fitted HistGradientBoosting{Classifier,Regressor}; scikit-learn ships no type information.
Model = Any


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
