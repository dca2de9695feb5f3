"""The project's artifact scheme resolves beside the store, whichever form of sqlite URI opened it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.names import ARTIFACT_SCHEME, ENV_PREFIX
from {{ cookiecutter.package_name }}.net import free_port, wait_for_health
from {{ cookiecutter.package_name }}.settings import Settings

RELATIVE = "sqlite:///.mlflow/mlflow.db"  # the form MLflow's docs use, from the project folder

LOAD_AND_PREDICT = """
import json, mlflow
from mlflow.tracking import MlflowClient
name = MlflowClient().search_registered_models()[0].name
model = mlflow.pyfunc.load_model(f"models:/{name}/1")
print(json.dumps({"columns": len(model.metadata.get_input_schema().input_names())}))
"""


def user_env(uri: str) -> dict[str, str]:
    """A user's shell: MLflow's own variable set, none of the project's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    return {**env, "MLFLOW_TRACKING_URI": uri, "MLFLOW_DISABLE_TELEMETRY": "true"}


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_both_sqlite_forms_name_the_same_artifacts_folder(
    form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite:///.mlflow/mlflow.db (from the project folder) and the absolute form resolve alike."""
    # MLflow's registry imports the plugin through its entry point: it must be first (the plugin's module
    # subclasses an MLflow class, so importing it first would load the registry halfway through it).
    import mlflow.store.artifact.artifact_repository_registry  # noqa: F401

    from {{ cookiecutter.package_name }}.mlflow_plugin.artifacts import local_uri

    monkeypatch.chdir(tmp_path)
    uri = RELATIVE if form == "relative" else f"sqlite:///{tmp_path / '.mlflow' / 'mlflow.db'}"
    expected = (tmp_path / ".mlflow" / "artifacts" / "models" / "m-1").as_uri()
    assert local_uri(f"{ARTIFACT_SCHEME}:/models/m-1", uri) == expected


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_a_registered_model_loads_with_either_uri(trained_project: Settings, form: str) -> None:
    """mlflow.pyfunc.load_model("models:/...") works in a fresh process whichever URI form is set."""
    root = trained_project.project_root
    uri = RELATIVE if form == "relative" else f"sqlite:///{root / '.mlflow' / 'mlflow.db'}"
    completed = subprocess.run(
        [sys.executable, "-c", LOAD_AND_PREDICT],
        cwd=root,
        env=user_env(uri),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert json.loads(completed.stdout.splitlines()[-1])["columns"] > 0


@pytest.fixture
def mlflow_ui(trained_project: Settings) -> Iterator[str]:
    """`mlflow ui --backend-store-uri sqlite:///.mlflow/mlflow.db` from the project folder, as the docs say."""
    port = free_port()
    mlflow = str(Path(sys.executable).parent / "mlflow")
    command = [mlflow, "ui", "--backend-store-uri", RELATIVE, "--host", "127.0.0.1"]
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=trained_project.project_root,
        env=user_env(RELATIVE),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(f"{url}/health", timeout=60, accept=lambda _answer: True)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_ui_serves_artifacts_of_a_relative_store(
    trained_project: Settings, mlflow_ui: str
) -> None:
    """The UI's artifact route answers 200 with the file, not 500, for a store opened relatively."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{trained_project.project_root / '.mlflow' / 'mlflow.db'}")
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    run = client.search_runs(experiments, max_results=1)[0]
    listed = client.list_artifacts(run.info.run_id)
    while not any(not item.is_dir for item in listed):  # the first file, in a folder if need be
        listed = client.list_artifacts(run.info.run_id, listed[0].path)
    artifact = next(item for item in listed if not item.is_dir)
    query = urllib.parse.urlencode({"path": artifact.path, "run_uuid": run.info.run_id})
    with urllib.request.urlopen(f"{mlflow_ui}/get-artifact?{query}", timeout=30) as answer:
        assert answer.status == 200
        assert answer.read(), f"{artifact.path} came back empty"
