"""Ingest stage: load the raw dataset (built into scikit-learn, or a CSV/Parquet file) and check its contract."""

from __future__ import annotations

import csv
import re
from collections import Counter
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
# The contract the raw data was checked against, copied beside it: the train stage depends on this copy, not on
# the datasets/ folder, so a new file beside the source re-runs only ingest, whose output is then unchanged.
RAW_CONTRACT = "raw/contract.schema.yaml"
# Data files live here: the ingest stage depends on the folder (dvc.yaml), so DVC notices a new or changed file
# and its contract, with no edit of dvc.yaml.
DATASETS = "datasets"
PARQUET = (".parquet", ".pq")
# The estimator bins a text column's categories: it takes at most this many distinct values in one column.
MAX_CATEGORIES = 255
# A text column whose values all look like ISO dates or times (checked on this many) holds dates, not categories.
DATE_SAMPLE = 200
ISO_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
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
    for name in frame.columns.drop(target):
        problem = column_problem(frame[name])
        if problem:
            raise PipelineError(f"{source}: column '{str(name)[:60]}' {problem}")
    return frame


def column_problem(values: pd.Series) -> str | None:
    """Why a feature column cannot be trained on as it is (and what to do), or None."""
    if values.isna().all():
        return "has no values (every row is missing): drop the column, or fill it"
    kind = values.dtype
    if pd.api.types.is_datetime64_any_dtype(kind) or pd.api.types.is_timedelta64_dtype(kind):
        return (
            "holds dates or times, which the model does not take: derive numbers from it (e.g. a "
            "day of week, an age in days) into new columns, and drop it"
        )
    if pd.api.types.is_numeric_dtype(kind):
        return None
    if _dates_as_text(values):
        return (
            "holds dates or times written as text, which the model does not take: derive numbers from "
            "it (e.g. a day of week, an age in days) into new columns, and drop it"
        )
    distinct = values.nunique(dropna=True)
    if distinct > MAX_CATEGORIES:
        return (
            f"is text with {distinct} distinct values; the model takes at most {MAX_CATEGORIES} "
            "categories in a column: drop it (an id or free text), or group its values"
        )
    return None


def _dates_as_text(values: pd.Series) -> bool:
    """True when every value of a text column reads as an ISO date or time (2024-01-31, 2024-01-31T08:00)."""
    present = values.dropna().astype(str).head(DATE_SAMPLE)
    if present.empty or not present.str.match(ISO_DATE).all():
        return False
    parsed = pd.to_datetime(present, errors="coerce", format="ISO8601")
    return bool(parsed.notna().all())


def repeated_columns(path: Path) -> list[str]:
    """Column names a CSV file's header gives more than once (pandas would rename them silently)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as lines:
        names = next(csv.reader(lines), [])
    counts = Counter(name.strip() for name in names)
    return [name for name, count in counts.items() if count > 1]


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
        parquet = path.suffix.lower() in PARQUET
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path)
        repeated = [str(name) for name in frame.columns[frame.columns.duplicated()]]
        repeated = repeated if parquet else repeated_columns(path)
    except pd.errors.EmptyDataError:
        raise PipelineError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as error:
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][
            :200
        ]  # pyarrow: pages
        raise PipelineError(f"{path}: not a readable {path.suffix} file ({reason})") from None
    if repeated:
        raise PipelineError(
            f"{path}: column '{repeated[0][:60]}' appears more than once: give each column its own name"
        )
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
    (settings.data_dir / RAW_CONTRACT).write_bytes(contract.read_bytes())
    logger.info("ingested {} rows x {} columns from {} into {}", *frame.shape, data.source, output)
    return output
