"""End-to-end on the other task, with a hostile name: a regression bake trains, deploys, predicts, rolls back."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE, free_port, project_python, run_make
from tests.index_url import package_index_url
from tests.test_own_data import (
    feature_rows,
    follow_walkthrough,
    restore_shipped_data,
    write_rows,
)

pytestmark = pytest.mark.slow

NAME = 'Ærø "Quote" Model'  # quotes and non-ASCII; its package sorts before `tests`


# Its own `make lint typecheck test` runs on Python 3.13, in tests/test_pythons.py.
@pytest.fixture(scope="module")
def regression_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A regression bake with a hostile name, in git, installed once."""
    answers = {"project_name": NAME, "task": "regression", "package_index_url": package_index_url()}
    out = tmp_path_factory.mktemp("regression")
    project = Path(
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(out))
    )
    run_make(project, "install")
    assert project.name == "aero-quote-model"
    yield project
    run_make(project, "undeploy", check=False)


NEWEST_VERSION = """
import json
from mlflow.tracking import MlflowClient
from aero_quote_model.settings import load_settings
s = load_settings()
versions = MlflowClient(s.resolved_tracking_uri).search_model_versions(f"name='{s.model_name}'")
print(json.dumps(max((int(v.version) for v in versions), default=0)))
"""


def health(port: int) -> dict[str, object]:
    """The deployed server's /health answer."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
        answer: dict[str, object] = json.loads(response.read())
    return answer


def test_train_deploy_predict_and_roll_back(regression_project: Path, tmp_path: Path) -> None:
    """The regression gate judges rmse and r2; predictions are numbers; a rollback serves the version before."""
    port = free_port()
    env = {"AERO_QUOTE_MODEL_SERVE_PORT": str(port)}
    before = project_python(
        regression_project, NEWEST_VERSION
    )  # 0, or what an earlier test registered
    run_make(regression_project, "train")
    first = str(project_python(regression_project, NEWEST_VERSION))
    assert int(first) == before + 1, "the shipped data trained a new version"
    deployed = run_make(regression_project, "deploy", env=env)
    assert {"rmse", "r2"} <= {line.split()[0] for line in deployed.stdout.splitlines() if line}
    assert health(port)["version"] == first

    rows = feature_rows(regression_project / "data/prepared/test.csv", "target")
    features = write_rows(tmp_path / "rows.csv", rows)
    predictions = tmp_path / "predictions.csv"
    run_make(regression_project, "predict", f"INPUT={features}", f"OUTPUT={predictions}")
    values = [float(line) for line in predictions.read_text().splitlines()[1:]]
    assert len(values) == len(rows)
    assert len(set(values)) > 1, "a regression model predicts numbers, not one class"

    run_make(regression_project, "train", "DVC_FLAGS=--force")
    run_make(regression_project, "deploy", env=env)
    assert health(port)["version"] == str(int(first) + 1)
    run_make(regression_project, "rollback", env=env)
    assert health(port)["version"] == first
    run_make(regression_project, "undeploy", env=env)


def test_your_own_data_through_the_readme(regression_project: Path, tmp_path: Path) -> None:
    """Regression: the docs' "Use your own data" steps on the shipped messy CSV, served and guarded."""
    follow_walkthrough(regression_project, "aero_quote_model", "annual_spend", tmp_path)
    restore_shipped_data(regression_project, "spend")
