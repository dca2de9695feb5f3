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
