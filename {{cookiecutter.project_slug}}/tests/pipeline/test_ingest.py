"""Tests for the ingest stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.ingest import column_name, load_builtin, read_source, run
from {{ cookiecutter.package_name }}.pipeline.params import DataParams, Params
from {{ cookiecutter.package_name }}.settings import Settings


def test_builtin_dataset_has_clean_columns(dataset: pd.DataFrame) -> None:
    """The default dataset has rows, snake_case columns and the target column."""
    assert len(dataset) > 100
    assert "target" in dataset.columns
    assert all(name == column_name(name) for name in dataset.columns)


def test_column_names_are_normalised() -> None:
    """Spaces and punctuation become single underscores."""
    assert column_name("Mean Radius (mm)") == "mean_radius_mm"


def test_unknown_builtin_lists_the_known_ones() -> None:
    """An unknown built-in dataset names the choices."""
    with pytest.raises(PipelineError, match="sklearn:breast_cancer"):
        load_builtin("mnist")


def test_csv_source(tmp_path: Path) -> None:
    """A CSV path relative to the project root is read."""
    pd.DataFrame({"x": [1, 2, 3], "label": [0, 1, 0]}).to_csv(tmp_path / "mine.csv", index=False)
    frame = read_source(DataParams(source="mine.csv", target="label"), tmp_path)
    assert list(frame.columns) == ["x", "label"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "mine.csv: data.source file not found"),
        ("", "mine.csv: the file is empty"),
        ("x,label\n", "mine.csv: the dataset is empty"),
        ("x,y\n1,2\n", "mine.csv: target column 'label' not found (columns: x, y)"),
        ("label\n1\n", "mine.csv: no feature columns besides 'label'"),
        ("x,label\n1,\n", "mine.csv: target column 'label' has missing values"),
    ],
)
def test_bad_csv_names_the_path_or_column(
    tmp_path: Path, content: str | None, message: str
) -> None:
    """Missing, empty or target-less files stop with the path and the column named."""
    if content is not None:
        (tmp_path / "mine.csv").write_text(content)
    with pytest.raises(PipelineError) as caught:
        read_source(DataParams(source="mine.csv", target="label"), tmp_path)
    assert message in str(caught.value)


def test_runner_writes_the_raw_file(settings: Settings, params: Params) -> None:
    """The runner writes data/raw/dataset.csv under the project."""
    iris = params.model_copy(update={"data": DataParams(source="sklearn:iris", target="target")})
    output = run(settings, iris)
    assert output == settings.data_dir / "raw" / "dataset.csv"
    assert len(pd.read_csv(output)) == 150
