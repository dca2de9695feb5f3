"""Tests for loading a registered version: by alias or number, and what a missing one says."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.model.load import (
    ModelNotFoundError,
    find_version,
    load_model,
    load_registered,
    resolve_version,
)
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry


def test_a_version_loads_by_number_with_its_contract(trained_project: Settings) -> None:
    """A version loaded by number has no alias, its signature's columns and its serving example."""
    model = load_model(trained_project, alias=None, version="1")
    assert (model.name, model.version, model.alias) == (trained_project.model_name, "1", None)
    assert model.serving_example is not None
    test = pd.read_csv(trained_project.data_dir / "prepared" / "test.csv")
    assert list(model.columns) == [c for c in test.columns if c != "target"]


def test_one_registry_serves_every_lookup(trained_project: Settings) -> None:
    """Lookups and loads through one opened registry agree with those through the settings."""
    registry = Registry.open(trained_project)
    assert find_version(registry, None, "1") == resolve_version(trained_project, None, "1") == "1"
    assert load_registered(registry, alias=None, version="1").version == "1"


def test_a_missing_version_or_alias_says_what_to_run(trained_project: Settings) -> None:
    """An unknown number or alias names the model, the store and the command to run."""
    registry = Registry.open(trained_project)
    with pytest.raises(
        ModelNotFoundError, match=r"has no version 99 in .*: run `make deploy` first"
    ):
        find_version(registry, None, "99")
    with pytest.raises(ModelNotFoundError, match=r"has no version with alias 'nowhere' in "):
        load_registered(registry, alias="nowhere")
