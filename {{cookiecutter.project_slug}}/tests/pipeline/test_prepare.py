"""Tests for the prepare stage."""

from __future__ import annotations

import pandas as pd

from {{ cookiecutter.package_name }}.pipeline.ingest import load_builtin
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.pipeline.prepare import split_dataset


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
