"""Fixtures for the deploy tests: the trained project's registry with no deploy state, and copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.net import free_port
from {{ cookiecutter.package_name }}.pipeline import train
from {{ cookiecutter.package_name }}.pipeline.params import Params, load_params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import ROLLED_BACK_TAG, Registry

SHIPPED_PARAMS = Path(__file__).parents[2] / "params.yaml"


def shipped_params() -> Params:
    """The params.yaml the project ships with."""
    return load_params(SHIPPED_PARAMS)


def newest_version(settings: Settings) -> str:
    """Train once more and return the new registered version."""
    return str(train.run(settings, shipped_params())["version"])


def aliases(settings: Settings) -> dict[str, str]:
    """The registered model's aliases and the versions they point to."""
    return Registry.open(settings).aliases()


@pytest.fixture
def fresh_registry(trained_project: Settings) -> Settings:
    """The trained project with no deploy state: no aliases, no history, nothing rolled back."""
    registry = Registry.open(trained_project)
    for alias in registry.aliases():
        registry.delete_alias(alias)
    client, name = registry.client, registry.name
    client.delete_registered_model_tag(name, "champion.history")
    for version in client.search_model_versions(f"name='{name}'"):
        client.delete_model_version_tag(name, version.version, ROLLED_BACK_TAG)
    return trained_project


@pytest.fixture
def two_versions(trained_project: Settings, tmp_path: Path) -> Settings:
    """A copy of the trained project, with params.yaml: version 1 the champion, the newest a copy of it."""
    copy = tmp_path / "project"
    shutil.copytree(trained_project.project_root, copy)
    shutil.copy(SHIPPED_PARAMS, copy / "params.yaml")
    settings = Settings(_env_file=None, project_root=copy, serve_port=free_port())
    registry = Registry.open(settings)
    for alias in registry.aliases():
        registry.delete_alias(alias)
    registry.client.delete_registered_model_tag(registry.name, "champion.history")
    for (
        number
    ) in registry.record().rolled_back:  # what earlier tests rolled back in the shared project
        registry.mark_rolled_back(number, False)
    registry.client.copy_model_version(f"models:/{registry.name}/1", registry.name)
    registry.set_alias("champion", "1")
    return settings
