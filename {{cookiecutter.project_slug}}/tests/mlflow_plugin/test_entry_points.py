"""The plugins through MLflow's real entry points, each check in a fresh process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.mlflow_plugin.context import PREFIX
from {{ cookiecutter.package_name }}.mlflow_plugin.experiment import (
    DEFAULT_EXPERIMENT_ID,
    ProjectExperimentProvider,
)
from {{ cookiecutter.package_name }}.names import ARTIFACT_SCHEME, DISTRIBUTION, ENV_PREFIX, PROJECT_NAME

PROJECT = Path(__file__).parents[2]

START_RUN = """
import json, mlflow
mlflow.set_tracking_uri(URI)
with mlflow.start_run() as run:
    pass
experiment = mlflow.get_experiment(run.info.experiment_id)
print(json.dumps(dict(tags=run.data.tags, experiment=experiment.name)))
"""


def fresh_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run code in a new interpreter, as a user's script would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIX)}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    # Any warning is an error: "Failure attempting to register" must not slip through.
    return subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_mlflow_registers_the_providers() -> None:
    """`import mlflow` registers both providers without a registration warning."""
    completed = fresh_python(
        "import json, mlflow.tracking.context.registry as r, "
        "mlflow.tracking.default_experiment.registry as d; "
        "print(json.dumps([type(p).__name__ for p in [*r._run_context_provider_registry, "
        "*d._default_experiment_provider_registry]]))",
        PROJECT,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Failure attempting to register" not in completed.stderr
    names = json.loads(completed.stdout)
    assert "ProjectRunContextProvider" in names
    assert "ProjectExperimentProvider" in names


def test_mlflow_knows_the_project_artifact_scheme() -> None:
    """The artifact repository is registered for the project's scheme through its entry point."""
    completed = fresh_python(
        "from mlflow.store.artifact.artifact_repository_registry import "
        "_artifact_repository_registry as r; "
        f"print(type(r.get_artifact_repository('{ARTIFACT_SCHEME}:/x')).__name__)",
        PROJECT,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "ProjectArtifactRepository"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A sqlite tracking URI shared by the runs of this module."""
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"


def test_plain_start_run_in_the_project_is_tagged(store: str) -> None:
    """A plain mlflow.start_run() inside the project lands in its experiment with its tags."""
    completed = fresh_python(START_RUN.replace("URI", repr(store)), PROJECT / "src")
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])
    assert result["experiment"] == PROJECT_NAME
    assert f"{PREFIX}python" in result["tags"]
    assert result["tags"]["mlflow.source.type"] == "LOCAL", "MLflow's own tags are untouched"
    if (PROJECT / ".git").is_dir():
        assert f"{PREFIX}git.commit" in result["tags"]


def test_plain_start_run_elsewhere_is_untouched(store: str, tmp_path: Path) -> None:
    """The same script outside any project gets none of the project's tags."""
    completed = fresh_python(START_RUN.replace("URI", repr(store)), tmp_path)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.splitlines()[-1])
    assert not [key for key in result["tags"] if key.startswith(PREFIX)]
    assert result["experiment"] == "Default"


def test_a_broken_env_file_costs_a_warning_not_the_run(store: str, tmp_path: Path) -> None:
    """With a typo in the project's .env, a plain start_run() still works, in MLflow's default experiment."""
    (tmp_path / "pyproject.toml").write_text(f'[project]\nname = "{DISTRIBUTION}"\n')
    (tmp_path / ".env").write_text(f"{ENV_PREFIX}LOGLEVEL=DEBUG\n")
    completed = fresh_python(START_RUN.replace("URI", repr(store)), tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout.splitlines()[-1])["experiment"] == "Default"
    assert f"unknown setting {ENV_PREFIX}LOGLEVEL" in completed.stderr, "the warning names the key"


def test_the_experiment_provider_itself_never_raises(
    project_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The provider owns its contract (not MLflow's catch-all): a bad .env gives the default id."""
    (project_dir / ".env").write_text(f"{ENV_PREFIX}LOGLEVEL=DEBUG\n")
    assert ProjectExperimentProvider().get_experiment_id() == DEFAULT_EXPERIMENT_ID
    assert any("default experiment" in record.getMessage() for record in caplog.records)
