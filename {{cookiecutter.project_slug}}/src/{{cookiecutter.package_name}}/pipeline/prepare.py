"""Prepare stage: split the raw dataset into train, validation and test sets."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pandas as pd
from loguru import logger

from ..settings import Settings
from . import PipelineError
from .ingest import RAW_FILE
from .params import Params, SplitParams, Task

PREPARED_DIR = "prepared"
MIN_ROWS = 10  # distinct rows a dataset needs, so that train, validation and test each get some


class Splits(NamedTuple):
    """The three disjoint parts of the dataset."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame


def sample_rows(frame: pd.DataFrame, fraction: float, seed: int, by: str | None) -> pd.DataFrame:
    """A seeded random share of the rows; with `by`, the same share of each of its values (stratified)."""
    if by is None:
        return frame.sample(frac=fraction, random_state=seed)
    return frame.groupby(by, group_keys=False).sample(frac=fraction, random_state=seed)


def split_dataset(
    frame: pd.DataFrame, target: str, task: Task, split: SplitParams, seed: int
) -> Splits:
    """Split deterministically; classification splits keep the class balance.

    pandas' own sampling does it, so this stage needs no scikit-learn import (seconds per run).
    """
    frame = frame.drop_duplicates().reset_index(drop=True)
    stratify = target if task == "classification" else None
    test = sample_rows(frame, split.test_size, seed, stratify)
    rest = frame.drop(test.index)
    val = sample_rows(rest, split.val_size, seed, stratify)
    return Splits(rest.drop(val.index), val, test)


def check_splittable(frame: pd.DataFrame, params: Params) -> None:
    """Refuse data a model cannot be trained and judged on: a lone class, too few rows to split."""
    source, target = params.data.source, params.data.target
    if (
        len(frame.drop_duplicates()) < MIN_ROWS
    ):  # first: one row has one class, but too few is the cause
        raise PipelineError(
            f"{source}: {len(frame.drop_duplicates())} distinct rows are too few to train, validate "
            f"and test on: at least {MIN_ROWS} are needed"
        )
    if params.task == "classification" and frame[target].nunique() < 2:
        raise PipelineError(
            f"{source}: target column '{target}' has one class only "
            f"({str(frame[target].iloc[0])[:40]!r}): a classifier needs rows of two classes or more"
        )


def features_and_target(frame: pd.DataFrame, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the predicted column from the features."""
    return frame.drop(columns=[target]), frame[target]


def read_splits(data_dir: Path) -> Splits:
    """Read the prepared splits back."""
    paths = [data_dir / PREPARED_DIR / f"{name}.csv" for name in Splits._fields]
    for path in paths:
        if not path.is_file():
            raise PipelineError(f"{path} not found: prepare the data first (make data)")
    return Splits(*(pd.read_csv(path) for path in paths))


def run(settings: Settings, params: Params) -> Splits:
    """Stage runner: read the raw dataset, split it, write the three CSV files."""
    frame = pd.read_csv(settings.data_dir / RAW_FILE)
    check_splittable(frame, params)
    splits = split_dataset(frame, params.data.target, params.task, params.split, params.seed)
    empty = [name for name, part in splits._asdict().items() if part.empty]
    if empty:
        raise PipelineError(
            f"{params.data.source}: {len(frame)} rows leave the {empty[0]} split empty (split.test_size "
            f"{params.split.test_size:g}, split.val_size {params.split.val_size:g}): add rows"
        )
    folder = settings.data_dir / PREPARED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in splits._asdict().items():
        part.to_csv(folder / f"{name}.csv", index=False)
    logger.info("split {} rows: {}", len(frame), {k: len(v) for k, v in splits._asdict().items()})
    return splits
