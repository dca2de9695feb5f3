"""Fixtures of the serving tests: a model as the server holds it."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel


@pytest.fixture
def served(loaded_model: LoadedModel) -> LoadedModel:
    """The iris model with the serving example MLflow would have saved beside it."""
    example = loaded_model.input_example
    assert example is not None
    payload = {"dataframe_split": json.loads(example.to_json(orient="split", index=False))}
    return replace(loaded_model, serving_example=payload)
