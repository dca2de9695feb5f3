"""Fixtures for the tuning tests: a small prepared project (a subsample of the shipped data), tuned quickly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest

from {{ cookiecutter.package_name }}.pipeline import ingest, prepare
from {{ cookiecutter.package_name }}.pipeline.params import Params, load_params
from {{ cookiecutter.package_name }}.pipeline.search_space import Distribution, TuneParams
from {{ cookiecutter.package_name }}.settings import Settings

PARAMS_FILE = Path(__file__).parents[2] / "params.yaml"


@pytest.fixture(scope="session")
def quick_params() -> Params:
    """The shipped params with a small, fast search space (few boosting rounds, 4 checkpoints)."""
    params = load_params(PARAMS_FILE)
    assert params.tune is not None
    space = {
        "learning_rate": Distribution(low=0.05, high=0.3, log=True),
        "max_iter": Distribution(low=10, high=30, step=10),
        "max_leaf_nodes": Distribution(choices=[7, 15]),
    }
    tune = TuneParams(**{**params.tune.model_dump(), "space": space, "checkpoints": 4})
    return params.model_copy(update={"tune": tune})


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory, quick_params: Params) -> Iterator[Settings]:
    """A project with its data ingested and split (no model yet), and a real embedded MLflow store."""
    root = tmp_path_factory.mktemp("tuned")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    settings = Settings(_env_file=None, project_root=root)
    ingest.run(settings, quick_params)
    prepare.run(settings, quick_params)
    yield settings
    mlflow.set_tracking_uri("")
