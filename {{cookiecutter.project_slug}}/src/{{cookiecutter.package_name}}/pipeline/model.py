"""The model: the estimator each task fits, where the train stage saves it, and how to read it back."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from . import PipelineError
from .params import ModelParams, Task

MODEL_DIR = "model"
# Classes inside a fitted model that skops (MLflow's format for it) loads only when told to trust them;
# this project writes these models itself, so it trusts them.
TRUSTED_TYPES = [
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # The encoding step's pass-through of the numeric columns: a partial of scikit-learn's check_array. skops
    # checks every node of the file, so a trusted partial can only wrap a callable that is trusted too.
    "functools.partial",
    "sklearn.utils.validation.check_array",
]
# A fitted HistGradientBoosting{Classifier,Regressor}; scikit-learn ships no type information.
Model = Any


def build_model(
    task: Task, params: ModelParams, seed: int, categorical: Sequence[str] = ()
) -> Model:
    """An unfitted model for the task; early stopping is off so runs are deterministic.

    Numbers go to the estimator as they are (it handles missing values itself). Text columns (`categorical`)
    are encoded first, by a step that is part of the model, so the logged model takes the raw columns:
    each category becomes a code the estimator splits on as a category; a missing or unseen one counts as
    missing.
    """
    kind = (
        HistGradientBoostingClassifier
        if task == "classification"
        else HistGradientBoostingRegressor
    )
    settings = {**params.model_dump(), "early_stopping": False, "random_state": seed}
    if not categorical:
        return kind(**settings)
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    encode = ColumnTransformer(
        [("categories", encoder, list(categorical))],
        remainder="passthrough",
        verbose_feature_names_out=False,  # the estimator sees the columns' own names
    ).set_output(transform="pandas")
    estimator = kind(**settings, categorical_features=list(categorical))
    return Pipeline([("encode", encode), ("estimate", estimator)])


def categorical_columns(features: pd.DataFrame) -> list[str]:
    """The columns holding text (or booleans): everything that is not a number."""
    return [
        str(name)
        for name, kind in features.dtypes.items()
        if not pd.api.types.is_numeric_dtype(kind) or pd.api.types.is_bool_dtype(kind)
    ]


def fit_model(
    features: pd.DataFrame, target: pd.Series, task: Task, params: ModelParams, seed: int
) -> Model:
    """Fit a fresh model on the training rows."""
    return build_model(task, params, seed, categorical_columns(features)).fit(features, target)


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
