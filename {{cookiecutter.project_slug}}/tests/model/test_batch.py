"""Tests for batch prediction: a file scored chunk by chunk."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.model.batch import predict_file
from {{ cookiecutter.package_name }}.model.loaded import InputError, LoadedModel

from .conftest import rows


def test_predict_file_streams_in_chunks(loaded_model: LoadedModel, tmp_path: Path) -> None:
    """A file is scored chunk by chunk into one CSV with a header and every row in order."""
    source = tmp_path / "rows.csv"
    frame = pd.concat([rows(loaded_model)] * 7, ignore_index=True)
    frame.to_csv(source, index=False)
    count = predict_file(loaded_model, source, tmp_path / "out" / "preds.csv", rows_per_chunk=4)
    written = pd.read_csv(tmp_path / "out" / "preds.csv")
    assert count == len(frame) == len(written)
    assert written["prediction"].tolist() == loaded_model.predict(frame)


def test_predict_file_errors_name_the_rows(loaded_model: LoadedModel, tmp_path: Path) -> None:
    """A bad value deep in a file is reported with its row range and column."""
    frame = pd.concat([rows(loaded_model)] * 3, ignore_index=True)
    frame["sepal_length"] = frame["sepal_length"].astype(object)
    frame.loc[11, "sepal_length"] = "abc"
    frame.to_csv(tmp_path / "rows.csv", index=False)
    with pytest.raises(InputError, match=r"rows 9-12: column 'sepal_length'"):
        predict_file(loaded_model, tmp_path / "rows.csv", tmp_path / "preds.csv", rows_per_chunk=4)
    with pytest.raises(InputError, match="input file not found"):
        predict_file(loaded_model, tmp_path / "nope.csv", tmp_path / "preds.csv")


@pytest.mark.parametrize("bad_row", [1, 9], ids=["first chunk", "a later chunk"])
def test_a_failed_file_leaves_nothing_at_the_output(
    loaded_model: LoadedModel, tmp_path: Path, bad_row: int
) -> None:
    """A file that fails in any chunk leaves no output file, not a partial or empty one, and no temp file."""
    frame = pd.concat([rows(loaded_model)] * 3, ignore_index=True)
    frame["sepal_length"] = frame["sepal_length"].astype(object)
    frame.loc[bad_row, "sepal_length"] = "abc"
    frame.to_csv(tmp_path / "rows.csv", index=False)
    output = tmp_path / "out" / "preds.csv"
    with pytest.raises(InputError):
        predict_file(loaded_model, tmp_path / "rows.csv", output, rows_per_chunk=4)
    assert not output.exists()
    assert not output.parent.exists(), "no temporary file, and not the folder it was to go in"


def test_a_good_file_replaces_an_old_output_whole(
    loaded_model: LoadedModel, tmp_path: Path
) -> None:
    """An existing output is replaced only once the new one is complete."""
    rows(loaded_model).to_csv(tmp_path / "rows.csv", index=False)
    output = tmp_path / "preds.csv"
    output.write_text("old\n")
    count = predict_file(loaded_model, tmp_path / "rows.csv", output, rows_per_chunk=2)
    assert len(pd.read_csv(output)) == count
