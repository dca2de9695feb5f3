"""Log a model with its full MLmodel contract and register it as a new version."""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import infer_signature

from .store import active_client

# The MLmodel metadata keys: the columns that had missing values in training, and the data contract's rules
# for the feature columns (ranges, categories), which serving enforces.
NULLABLE_KEY = "nullable_columns"
CONTRACT_KEY = "data_contract"
# The serving environment: pinned from what is installed, because inferring requirements costs seconds.
REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")


def pinned_requirements() -> list[str]:
    """`name==version` for each runtime requirement of the logged model."""
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def log_and_register(
    model: Any,
    input_example: pd.DataFrame,
    *,
    name: str,
    local_dir: Path,
    version_tags: dict[str, str],
    trusted_types: list[str],
    nullable_columns: list[str],
    contract_rules: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Log the model to the active run, register it, copy it locally (a DVC output); return the version.

    MLflow saves scikit-learn models with skops, which loads only the types it is told to trust:
    `trusted_types` names the model's own classes beyond those skops trusts by default.
    `nullable_columns` (those with missing values in training) go into the MLmodel's metadata: serving
    accepts missing values in these columns only, and enforces `contract_rules` (pipeline/contract.py).
    """
    signature = infer_signature(input_example, model.predict(input_example))
    contract: dict[str, Any] = {
        "signature": signature,
        "input_example": input_example,
        "pip_requirements": pinned_requirements(),
        "skops_trusted_types": trusted_types,
        "metadata": {NULLABLE_KEY: nullable_columns, CONTRACT_KEY: contract_rules or {}},
    }
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, **contract)
    # The DVC output is a copy of what was logged (serialising twice costs seconds).
    shutil.rmtree(local_dir, ignore_errors=True)
    local_dir.mkdir(parents=True)
    mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(local_dir))
    registered = str(info.registered_model_version)
    client = active_client()  # the active run's store
    for key, value in version_tags.items():
        client.set_model_version_tag(name, registered, key, value)
    return registered
