"""Ingest stage: load the raw dataset (built into scikit-learn, or a CSV) and check it."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from loguru import logger

from ..settings import Settings
from . import PipelineError
from .params import DataParams, Params

BUILTIN_PREFIX = "sklearn:"
BUILTIN_DATASETS = ("breast_cancer", "diabetes", "iris", "wine")
RAW_FILE = "raw/dataset.csv"


def column_name(name: str) -> str:
    """Normalise a column name to snake_case, so it works as a field name everywhere."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def load_builtin(name: str) -> pd.DataFrame:
    """Load a dataset that ships inside scikit-learn as one frame, the label in `target`."""
    from sklearn import datasets

    if name not in BUILTIN_DATASETS:
        raise PipelineError(
            f"data.source: unknown dataset '{BUILTIN_PREFIX}{name}' "
            f"(built in: {', '.join(BUILTIN_PREFIX + known for known in BUILTIN_DATASETS)})"
        )
    bunch = getattr(datasets, f"load_{name}")(as_frame=True)
    frame: pd.DataFrame = bunch.frame
    return frame.rename(columns=column_name)


def validate_dataset(frame: pd.DataFrame, target: str, source: str) -> pd.DataFrame:
    """Check the frame can be trained on: rows, the target column, and at least one feature."""
    if frame.empty:
        raise PipelineError(f"{source}: the dataset is empty")
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:20]))
        raise PipelineError(f"{source}: target column '{target}' not found (columns: {columns})")
    if frame.shape[1] < 2:
        raise PipelineError(f"{source}: no feature columns besides '{target}'")
    if frame[target].isna().any():
        raise PipelineError(f"{source}: target column '{target}' has missing values")
    return frame


def read_source(data: DataParams, root: Path) -> pd.DataFrame:
    """Read the configured source: a built-in dataset or a CSV relative to the project root."""
    if data.source.startswith(BUILTIN_PREFIX):
        return validate_dataset(
            load_builtin(data.source.removeprefix(BUILTIN_PREFIX)), data.target, data.source
        )
    path = root / data.source
    if not path.is_file():
        raise PipelineError(f"{path}: data.source file not found")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: the file is empty") from None
    return validate_dataset(frame, data.target, str(path))


def run(settings: Settings, params: Params) -> Path:
    """Stage runner: write the checked raw dataset under the data folder."""
    data = params.data
    frame = read_source(data, settings.project_root)
    output = settings.data_dir / RAW_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    logger.info("ingested {} rows x {} columns from {} into {}", *frame.shape, data.source, output)
    return output
