"""Fixtures of the monitoring tests: the project's params and data, and request logs as the server writes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline.ingest import read_source
from {{ cookiecutter.package_name }}.pipeline.params import Params, load_params
from {{ cookiecutter.package_name }}.pipeline.prepare import PREPARED_DIR, Splits, split_dataset
from {{ cookiecutter.package_name }}.serving.request_log import log_folder
from {{ cookiecutter.package_name }}.settings import Settings

from tests.pipeline.conftest import PARAMS_FILE


@pytest.fixture(scope="module")
def params() -> Params:
    """The params.yaml shipped with the project."""
    return load_params(PARAMS_FILE)


@pytest.fixture(scope="module")
def splits(params: Params) -> Splits:
    """The default dataset, split as the prepare stage splits it."""
    dataset = read_source(params.data, Path.cwd())
    return split_dataset(dataset, params.data.target, params.task, params.split, params.seed)


@pytest.fixture
def prepared(settings: Settings, splits: Splits) -> pd.DataFrame:
    """The splits written where the prepare stage writes them; returns the training split."""
    folder = settings.data_dir / PREPARED_DIR
    folder.mkdir(parents=True)
    for name, part in splits._asdict().items():
        part.to_csv(folder / f"{name}.csv", index=False)
    return splits.train


def record(features: dict[str, Any], prediction: Any, version: str = "3") -> str:
    """One request log line, as the server writes it."""
    line = {
        "time": "2026-11-26T07:00:00.123+00:00",
        "version": version,
        "alias": "champion",
        "features": features,
        "prediction": prediction,
    }
    return json.dumps(line) + "\n"


def write_log(settings: Settings, rows: pd.DataFrame, target: str, version: str = "3") -> Path:
    """A worker's request log of these rows, their target logged as the prediction."""
    folder = log_folder(settings.log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "worker-1.jsonl"
    lines = [
        record({str(k): v for k, v in row.items() if k != target}, row[target], version)
        for row in rows.to_dict(orient="records")
    ]
    path.write_text("".join(lines))
    return path
