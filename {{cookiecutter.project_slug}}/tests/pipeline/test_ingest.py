"""Tests for the ingest stage."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.contract import ContractError
from {{ cookiecutter.package_name }}.pipeline.ingest import (
    column_name,
    load_builtin,
    read_source,
    run,
    write_schema,
)
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


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_csv_or_parquet_file_under_datasets_is_read(tmp_path: Path, suffix: str) -> None:
    """Your own file, under datasets/, in either format, with text and missing values."""
    frame = pd.DataFrame({"x": [1.0, None, 3.0], "plan": ["a", "b", None], "label": [0, 1, 0]})
    (tmp_path / "datasets").mkdir()
    path = tmp_path / "datasets" / f"mine{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    read = read_source(DataParams(source=f"datasets/mine{suffix}", target="label"), tmp_path)
    assert list(read.columns) == ["x", "plan", "label"]
    assert read["plan"].isna().sum() == 1


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("mine.csv", "mine.csv is outside datasets/: move the file there"),
        ("../elsewhere/mine.csv", "is outside datasets/"),
        ("datasets/mine.xlsx", "not a CSV or Parquet file"),
    ],
)
def test_a_source_dvc_would_not_track_is_refused(tmp_path: Path, source: str, message: str) -> None:
    """Files outside datasets/ (DVC's input folder) or of another format are refused with the fix."""
    with pytest.raises(PipelineError, match=message):
        read_source(DataParams(source=source, target="label"), tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "datasets/mine.csv: data.source file not found"),
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
    (tmp_path / "datasets").mkdir()
    if content is not None:
        (tmp_path / "datasets" / "mine.csv").write_text(content)
    with pytest.raises(PipelineError) as caught:
        read_source(DataParams(source="datasets/mine.csv", target="label"), tmp_path)
    assert message in str(caught.value)


def test_runner_writes_the_raw_file(settings: Settings, params: Params) -> None:
    """The runner writes data/raw/dataset.csv under the project."""
    iris = params.model_copy(update={"data": DataParams(source="sklearn:iris", target="target")})
    output = run(settings, iris)
    assert output == settings.data_dir / "raw" / "dataset.csv"
    assert len(pd.read_csv(output)) == 150
    contract = settings.project_root / "datasets" / "sklearn-iris.schema.yaml"
    assert contract.is_file()
    # the later stages depend on this copy, not on the datasets/ folder beside the source
    assert (
        settings.data_dir / "raw" / "contract.schema.yaml"
    ).read_bytes() == contract.read_bytes()


def test_a_second_version_that_breaks_the_contract_changes_nothing(
    settings: Settings, params: Params
) -> None:
    """The first ingest writes the contract; a later file that breaks it stops before any output."""
    folder = settings.project_root / "datasets"
    folder.mkdir()
    frame = pd.DataFrame({"plan": ["a", "b", "a", "b"], "x": [1, 2, 3, 4], "label": [0, 1, 0, 1]})
    frame.to_csv(folder / "mine.csv", index=False)
    mine = params.model_copy(
        update={"data": DataParams(source="datasets/mine.csv", target="label")}
    )
    output = run(settings, mine)
    assert (folder / "mine.schema.yaml").is_file()
    before = output.read_bytes()

    frame.assign(plan=["a", "b", "c", "b"]).to_csv(folder / "mine.csv", index=False)
    with pytest.raises(ContractError, match=r"datasets/mine\.schema\.yaml"):
        run(settings, mine)

    assert output.read_bytes() == before
    write_schema(settings, mine)  # `make data-schema`: the change was intended
    run(settings, mine)
    assert "c" in set(pd.read_csv(output)["plan"])


def write_own(tmp_path: Path, frame: pd.DataFrame, suffix: str = ".csv") -> DataParams:
    """Put a frame under datasets/ as the project's source, predicting `label`."""
    (tmp_path / "datasets").mkdir(exist_ok=True)
    path = tmp_path / "datasets" / f"own{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    return DataParams(source=f"datasets/own{suffix}", target="label")


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("empty", [None] * 6, r"column 'empty' has no values \(every row is missing\): drop"),
        (
            "code",
            [f"id-{i}" for i in range(300)],
            r"column 'code' is text with 300 distinct values",
        ),
    ],
)
def test_a_column_the_model_cannot_take_is_named_with_the_fix(
    tmp_path: Path, column: str, values: list[object], message: str
) -> None:
    """An all-missing column or a text column with more categories than the model bins is one clear line."""
    rows = len(values)
    frame = pd.DataFrame({"x": range(rows), column: values, "label": [i % 2 for i in range(rows)]})
    data = write_own(tmp_path, frame)
    with pytest.raises(PipelineError, match=rf"own\.csv: {message}"):
        read_source(data, tmp_path)


def test_a_date_column_is_refused_not_turned_into_categories(tmp_path: Path) -> None:
    """A Parquet datetime column is refused with what to derive from it, never silently made text."""
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], "seen": pd.date_range("2026-01-01", periods=3), "label": [0, 1, 0]}
    )
    data = write_own(tmp_path, frame, ".parquet")
    with pytest.raises(PipelineError, match=r"column 'seen' holds dates or times.*derive numbers"):
        read_source(data, tmp_path)


@pytest.mark.parametrize(
    "dates", [["2024-01-01", "2024-02-29"], ["2024-01-01 08:00", "2024-01-01T09:30:15"]]
)
def test_dates_written_as_text_in_a_csv_are_refused_too(tmp_path: Path, dates: list[str]) -> None:
    """ISO dates or times in a CSV column are dates, not categories: refused with what to derive."""
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "day": [*dates, None], "label": [0, 1, 0]})
    data = write_own(tmp_path, frame)
    with pytest.raises(PipelineError, match=r"column 'day' holds dates or times written as text"):
        read_source(data, tmp_path)


def test_text_that_only_starts_like_a_date_stays_a_category(tmp_path: Path) -> None:
    """Codes such as "2024-01-01-A" are not dates: the column is text with categories."""
    frame = pd.DataFrame(
        {"x": [1.0, 2.0], "batch": ["2024-01-01-A", "2024-01-02-B"], "label": [0, 1]}
    )
    assert list(read_source(write_own(tmp_path, frame), tmp_path)["batch"]) == list(frame["batch"])


def test_a_column_name_given_twice_is_refused_not_renamed(tmp_path: Path) -> None:
    """A CSV header naming a column twice is refused (pandas would read the second as `x.1`)."""
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "own.csv").write_text("x,x,label\n1,2,0\n3,4,1\n")
    with pytest.raises(PipelineError, match=r"own\.csv: column 'x' appears more than once"):
        read_source(DataParams(source="datasets/own.csv", target="label"), tmp_path)
