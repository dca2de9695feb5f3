"""Fixtures for the pipeline tests: the shipped params and a small dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.pipeline.ingest import read_source
from {{ cookiecutter.package_name }}.pipeline.params import Params, load_params

PARAMS_FILE = Path(__file__).parents[2] / "params.yaml"


@pytest.fixture(scope="session")
def params() -> Params:
    """The params.yaml shipped with the project."""
    return load_params(PARAMS_FILE)


@pytest.fixture(scope="session")
def dataset(params: Params) -> pd.DataFrame:
    """The default raw dataset (built into scikit-learn)."""
    return read_source(params.data, Path.cwd())
