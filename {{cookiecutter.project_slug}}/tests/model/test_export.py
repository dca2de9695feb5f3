"""Tests for exporting a registered version into a folder, and serving it from there without a registry."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.model.export import export_model, load_exported
from {{ cookiecutter.package_name }}.model.load import ModelNotFoundError, load_model, resolve_version
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.store import connect


def test_an_exported_model_serves_without_the_registry(
    trained_project: Settings, tmp_path: Path
) -> None:
    """export_model copies a version with its signature and serving example; load_exported needs no store."""
    from {{ cookiecutter.package_name }}.serving.routing import Router

    version = resolve_version(trained_project, None, "1")
    client = connect(trained_project)
    client.set_registered_model_alias(trained_project.model_name, "exported", version)
    folder = tmp_path / "image" / "model"
    record = export_model(trained_project, folder, alias="exported")
    assert record == {"name": trained_project.model_name, "version": version, "alias": "exported"}
    assert (folder / "MLmodel").is_file()
    exported = load_exported(folder)
    assert exported.serving_example is not None
    registered = load_model(trained_project, alias=None, version=version)
    test = pd.read_csv(trained_project.data_dir / "prepared" / "test.csv").drop(columns=["target"])
    assert exported.predict(test) == registered.predict(test)

    elsewhere = trained_project.model_copy(
        update={"serve_model_dir": folder, "tracking_uri": "http://127.0.0.1:9"}  # no store there
    )
    router = Router.start(elsewhere)
    assert (router.routes.champion.version, router.routes.pick(None)[1]) == (version, "exported")


def test_a_folder_without_an_exported_model_is_named(tmp_path: Path) -> None:
    """SERVE_MODEL_DIR pointing at anything else fails in one line naming the folder and the fix."""
    with pytest.raises(ModelNotFoundError, match="holds no exported model"):
        load_exported(tmp_path)
