"""Tests for the prepare stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.ingest import RAW_FILE, load_builtin
from {{ cookiecutter.package_name }}.pipeline.params import DataParams, Params
from {{ cookiecutter.package_name }}.pipeline.prepare import run, split_dataset
from {{ cookiecutter.package_name }}.settings import Settings


def test_splits_are_disjoint_and_complete(dataset: pd.DataFrame, params: Params) -> None:
    """Train, validation and test partition the de-duplicated rows."""
    splits = split_dataset(dataset, "target", params.task, params.split, params.seed)
    sizes = [len(part) for part in splits]
    assert sum(sizes) == len(dataset.drop_duplicates())
    joined = pd.concat(splits)
    assert not joined.duplicated().any(), "no row is in two splits"
    # Stratified sampling rounds each class on its own: exact to half a row per class.
    strata = dataset["target"].nunique() if params.task == "classification" else 1
    expected = len(dataset.drop_duplicates()) * params.split.test_size
    assert abs(len(splits.test) - expected) <= strata / 2


def test_split_is_deterministic(dataset: pd.DataFrame, params: Params) -> None:
    """The same seed gives the same split; another seed does not."""
    first = split_dataset(dataset, "target", params.task, params.split, params.seed)
    again = split_dataset(dataset, "target", params.task, params.split, params.seed)
    other = split_dataset(dataset, "target", params.task, params.split, params.seed + 1)
    pd.testing.assert_frame_equal(first.test, again.test)
    assert not first.test.index.equals(other.test.index)


def test_classification_keeps_class_balance(params: Params) -> None:
    """Stratified splits keep each class's share within a few points."""
    dataset = load_builtin("breast_cancer")
    splits = split_dataset(dataset, "target", "classification", params.split, params.seed)
    overall = dataset["target"].value_counts(normalize=True)
    test = splits.test["target"].value_counts(normalize=True)
    assert (test - overall).abs().max() < 0.05


def own_params(params: Params, task: str = "classification") -> Params:
    """The project's params pointed at an own file predicting `label`."""
    return params.model_copy(
        update={"task": task, "data": DataParams(source="datasets/own.csv", target="label")}
    )


def run_on(tmp_path: Path, frame: pd.DataFrame, params: Params) -> None:
    """Run the prepare stage on a frame as the ingest stage would have left it."""
    settings = Settings(_env_file=None, project_root=tmp_path, data_dir=tmp_path / "data")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    frame.to_csv(tmp_path / "data" / RAW_FILE, index=False)
    run(settings, params)


def test_a_target_with_one_class_is_refused(tmp_path: Path, params: Params) -> None:
    """A classifier's target with a single class is one line naming the file and the column."""
    frame = pd.DataFrame({"x": range(50), "label": [1] * 50})
    with pytest.raises(PipelineError, match=r"own\.csv: target column 'label' has one class only"):
        run_on(tmp_path, frame, own_params(params))


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_too_few_rows_to_split_are_refused(tmp_path: Path, params: Params, task: str) -> None:
    """A one-row file never yields an empty test split: refused as too few rows, nothing written.

    Its one row also has one class only, but too few rows is the reason to give.
    """
    frame = pd.DataFrame({"x": [1.0], "label": [2]})
    with pytest.raises(PipelineError, match=r"own\.csv: 1 distinct rows are too few"):
        run_on(tmp_path, frame, own_params(params, task))
    assert not (tmp_path / "data" / "prepared").exists()
