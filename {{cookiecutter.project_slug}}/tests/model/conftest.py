"""Helpers for the model tests."""

from __future__ import annotations

import pandas as pd

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel


def rows(model: LoadedModel) -> pd.DataFrame:
    """The model's input example rows."""
    assert model.input_example is not None
    return model.input_example
