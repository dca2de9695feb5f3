"""Shared fixtures: an isolated project folder, settings built for it, loguru bridged to caplog."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel
from {{ cookiecutter.package_name }}.names import DISTRIBUTION, ENV_PREFIX
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture(scope="session", autouse=True)
def _embedded_stores() -> Iterator[None]:
    """Runs go to embedded stores in temporary projects, never to a server, in either bake (session fixtures too)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"{ENV_PREFIX}TRACKING_URI", "")  # empty: the embedded store
        yield


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the developer's own settings out of every test."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX) and name != f"{ENV_PREFIX}TRACKING_URI":
            monkeypatch.delenv(name)
    monkeypatch.setenv(f"{ENV_PREFIX}TRACKING_URI", "")


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project folder (a pyproject.toml naming this project), as the current directory."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def settings(project_dir: Path) -> Settings:
    """Settings rooted in the temporary project, read from no .env file."""
    return Settings(_env_file=None, project_root=project_dir)


@pytest.fixture
def caplog(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Let caplog see loguru records too."""
    handler_id = logger.add(caplog.handler, format="{message}", level=0)
    yield caplog
    with contextlib.suppress(ValueError):  # configure_logging in the test already removed it
        logger.remove(handler_id)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo a test's configure_logging so sinks never leak into the next test."""
    root_handlers = logging.getLogger().handlers[:]
    yield
    logging.getLogger().handlers = root_handlers
    logger.remove()
    logger.add(sys.stderr)


@pytest.fixture(scope="session")
def loaded_model() -> LoadedModel:
    """A small fitted model wrapped as the registry would load it (no MLflow needed)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import HistGradientBoostingClassifier

    frame = load_iris(as_frame=True).frame.rename(columns=lambda name: name.replace(" (cm)", ""))
    frame.columns = [str(name).replace(" ", "_") for name in frame.columns]
    features = frame.drop(columns=["target"])
    native = HistGradientBoostingClassifier(max_iter=10, random_state=0).fit(
        features, frame["target"]
    )
    columns = dict.fromkeys(features.columns, "float64")
    return LoadedModel("iris", "3", "champion", native, columns, features.head(5))


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A temporary project run through the whole pipeline once, with a real MLflow sqlite store."""
    import mlflow

    from {{ cookiecutter.package_name }}.pipeline import evaluate, ingest, prepare, train
    from {{ cookiecutter.package_name }}.pipeline.params import load_params

    root = tmp_path_factory.mktemp("trained")
    settings = Settings(_env_file=None, project_root=root)
    params = load_params(Path(__file__).parents[1] / "params.yaml")
    ingest.run(settings, params)
    prepare.run(settings, params)
    train.run(settings, params)
    evaluate.run(settings, params)
    yield settings
    mlflow.set_tracking_uri("")
