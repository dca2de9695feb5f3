"""Ingest stage: load the raw dataset (built into scikit-learn, or a CSV/Parquet file) and check its contract."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from loguru import logger

from ..settings import Settings
from . import PipelineError
from .contract import contract_path, enforce, write_contract
from .params import DataParams, Params

BUILTIN_PREFIX = "sklearn:"
BUILTIN_DATASETS = ("breast_cancer", "diabetes", "iris", "wine")
RAW_FILE = "raw/dataset.csv"
# Data files live here: the ingest stage depends on the folder (dvc.yaml), so DVC notices a new or changed file
# and its contract, with no edit of dvc.yaml.
DATASETS = "datasets"
PARQUET = (".parquet", ".pq")
SUFFIXES = (".csv", *PARQUET)


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


def dataset_file(data: DataParams, root: Path) -> Path:
    """The data file a source names: under `datasets/`, an existing CSV or Parquet file."""
    path = (root / data.source).resolve()
    folder = (root / DATASETS).resolve()
    if not path.is_relative_to(folder):
        raise PipelineError(
            f"data.source: {data.source} is outside {DATASETS}/: move the file there (DVC tracks that folder "
            f"as the ingest stage's input) and set data.source: {DATASETS}/{path.name}"
        )
    if path.suffix.lower() not in SUFFIXES:
        raise PipelineError(
            f"data.source: {data.source} is not a CSV or Parquet file (.csv, .parquet)"
        )
    if not path.is_file():
        raise PipelineError(f"{path}: data.source file not found")
    return path


def dataset_of(data: DataParams, root: Path) -> Path:
    """The dataset's path, real or (for a built-in dataset) the name its contract is kept under."""
    if data.source.startswith(BUILTIN_PREFIX):
        return root / DATASETS / data.source.replace(":", "-")
    return dataset_file(data, root)


def read_source(data: DataParams, root: Path) -> pd.DataFrame:
    """Read the configured source: a built-in dataset, or a CSV or Parquet file under `datasets/`."""
    if data.source.startswith(BUILTIN_PREFIX):
        return validate_dataset(
            load_builtin(data.source.removeprefix(BUILTIN_PREFIX)), data.target, data.source
        )
    path = dataset_file(data, root)
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in PARQUET else pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        raise PipelineError(f"{path}: not a readable {path.suffix} file ({error})") from None
    return validate_dataset(frame, data.target, str(path))


def write_schema(settings: Settings, params: Params) -> Path:
    """Write the source's contract from its current data (`make data-schema`)."""
    frame = read_source(params.data, settings.project_root)
    return write_contract(frame, contract_path(dataset_of(params.data, settings.project_root)))


def run(settings: Settings, params: Params) -> Path:
    """Stage runner: write the checked raw dataset under the data folder."""
    data = params.data
    frame = read_source(data, settings.project_root)
    contract = contract_path(dataset_of(data, settings.project_root))
    if not contract.is_file():
        write_contract(frame, contract)
        logger.warning("wrote the data contract {}: review it and commit it", contract)
    frame = enforce(frame, contract, data.source, str(contract.relative_to(settings.project_root)))
    output = settings.data_dir / RAW_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(output, index=False)
    logger.info("ingested {} rows x {} columns from {} into {}", *frame.shape, data.source, output)
    return output
