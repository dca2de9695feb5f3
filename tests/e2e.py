"""The end-to-end tests' shared bake and the states they need it in, as fixtures (slow).

One default bake is installed and trained once per session. A test asks for the state it needs; the fixture
brings the bake there from whatever the tests before left, and does nothing where it already holds, so the
tests pass in any order (`pytest --reverse`):

- `trained`: the pipeline up to date on the shipped params (`make train`, a no-op when it is);
- `deployable`: a plain `make deploy` promotes a version trained on those params;
- `served`: that version served as champion on the session's port (a deploy again changes nothing);
- `newer_version`: besides the served champion, a version trained after it and not deployed;
- `undeployed_champion`: a champion in the registry and no server running.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE, free_port, http, project_python, run_make
from tests.index_url import package_index_url

STORE_FACTS = """
import json, mlflow
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
mlflow.set_tracking_uri(s.resolved_tracking_uri)
exp = client.get_experiment_by_name(s.experiment_name)
runs = client.search_runs([exp.experiment_id])
versions = client.search_model_versions(f"name='{s.model_name}'")
latest = max(versions, key=lambda v: int(v.version))
uri = f"models:/{s.model_name}/{latest.version}"
info = mlflow.models.Model.load(uri)
example = info.load_input_example(mlflow.artifacts.download_artifacts(uri))
predictions = mlflow.pyfunc.load_model(uri).predict(example)
run = runs[0]
print(json.dumps({
    "runs": [(r.info.status, r.info.run_name) for r in runs],
    "params": sorted(run.data.params),
    "metrics": sorted(run.data.metrics),
    "plots": sorted(a.path for a in client.list_artifacts(run.info.run_id, "plots")),
    "versions": len(versions),
    "version_tags": latest.tags,
    "signature": info.signature is not None,
    "example_rows": len(example),
    "predictions": len(predictions),
    "artifact_root": exp.artifact_location,
    "clean_runs": len(mlflow.search_runs(
        [exp.experiment_id], filter_string="tags.tumor_classifier.git.dirty = 'false'")),
    "provenance": sorted(k for k in run.data.tags if k.startswith("tumor_classifier.")),
}))
"""

PYFUNC_PREDICTIONS = """
import json, mlflow, pandas as pd
from tumor_classifier.settings import load_settings
s = load_settings()
mlflow.set_tracking_uri(s.resolved_tracking_uri)
rows = pd.read_csv("data/prepared/test.csv").drop(columns=["target"]).head(20)
model = mlflow.pyfunc.load_model(f"models:/{s.model_name}@champion")
print(json.dumps({"split": json.loads(rows.to_json(orient="split", index=False)),
                  "predictions": model.predict(rows).tolist()}))
"""

# What a plain `make deploy` would pick (the newest version never rolled back) and whether a plain training
# made it, and the canary's challenger if one runs. Read with MLflow's client: the registry is the deploy state.
DEPLOY_STATE = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
versions = client.search_model_versions(f"name='{s.model_name}'")
eligible = [v for v in versions if v.tags.get("rolled_back") != "true"]
newest = max(eligible, key=lambda v: int(v.version), default=None)
tags = client.get_run(newest.run_id).data.tags if newest else {}
aliases = client.get_registered_model(s.model_name).aliases
print(json.dumps({
    "newest": newest and str(newest.version),
    "plain": newest is not None and "tumor_classifier.dvc.experiment" not in tags,
    "challenger": aliases.get("challenger") and str(aliases["challenger"]),
}))
"""

CHROMIUM = [
    "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000", "--window-size=1400,900",
]  # fmt: skip


@dataclass(frozen=True)
class FirstTraining:
    """What the session's first `make train` left, read before any other test could train again."""

    project: Path
    facts: dict[str, Any]  # STORE_FACTS of the store
    status: list[str]  # `git status --porcelain` lines
    metrics: dict[str, Any]  # metrics.json


@dataclass(frozen=True)
class Served:
    """The shared bake's champion, served on the session's port."""

    project: Path
    url: str
    version: str


@dataclass(frozen=True)
class NewerVersion:
    """The served champion, and a version trained after it that no deploy has picked yet."""

    project: Path
    url: str
    champion: str
    version: str


def deploy_state(project: Path) -> dict[str, Any]:
    """The registry's answer to DEPLOY_STATE."""
    return dict(project_python(project, DEPLOY_STATE))


def pd_rows(
    project: Path, count: int, shift: dict[str, float] | None = None, split: str = "test"
) -> dict[str, Any]:
    """A split's first `count` rows (cycling; feature columns only) in dataframe_split form."""
    lines = (project / f"data/prepared/{split}.csv").read_text().splitlines()
    header = lines[0].split(",")
    target = header.index("target")
    columns = [name for i, name in enumerate(header) if i != target]
    data = []
    for line in (lines[1:] * (count // (len(lines) - 1) + 1))[:count]:
        values = [float(v) for i, v in enumerate(line.split(",")) if i != target]
        row = dict(zip(columns, values, strict=True))
        row.update(shift or {})
        data.append([row[name] for name in columns])
    return {"columns": columns, "data": data}


@pytest.fixture(scope="session")
def first_training(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FirstTraining]:
    """A default bake in git, installed with `make install`, then trained once with `make train`."""
    out = tmp_path_factory.mktemp("e2e")
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context={"package_index_url": package_index_url()},
            output_dir=str(out),
        )
    )
    # Installed as in a CI image, where the Makefile compiles the whole .venv (the other bakes write bytecode on
    # first import, as on a laptop): both ways are run.
    run_make(project, "install", env={"PYTHONDONTWRITEBYTECODE": "1"})
    assert list(
        project.glob(".venv/lib/python3*/site-packages/sklearn/__pycache__/*.pyc")
    ), "not compiled"
    run_make(project, "train")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    facts = project_python(project, STORE_FACTS)
    yield FirstTraining(project, facts, status, json.loads((project / "metrics.json").read_text()))
    run_make(project, "undeploy", check=False)  # never leave a server behind, even after a failure


@pytest.fixture(scope="session")
def installed_project(first_training: FirstTraining) -> Path:
    """The shared bake of the end-to-end tests: installed, and trained once on the shipped data."""
    return first_training.project


@pytest.fixture(scope="session")
def serving_env() -> dict[str, str]:
    """Settings that put the shared bake's server on a free loopback port, the same all session."""
    return {"TUMOR_CLASSIFIER_SERVE_PORT": str(free_port())}


@pytest.fixture
def trained(installed_project: Path) -> Path:
    """The shared bake with its pipeline up to date on the shipped params."""
    run_make(installed_project, "train")  # a no-op unless a test left it out of date
    return installed_project


@pytest.fixture
def deployable(trained: Path) -> Path:
    """The shared bake where a plain `make deploy` promotes a version trained on the shipped params.

    A running canary is aborted (a deploy refuses beside one). After DVC experiments the newest version is
    one of theirs, whose learning rate may rightly fail the gate: a plain training then makes a newer one.
    """
    state = deploy_state(trained)
    if state["challenger"] is not None:
        run_make(trained, "canary-abort")
    if not state["plain"]:
        run_make(trained, "train", "DVC_FLAGS=--force")
    return trained


@pytest.fixture
def served(deployable: Path, serving_env: dict[str, str]) -> Served:
    """The newest deployable version served as champion (swapped into a running server, or started)."""
    run_make(deployable, "deploy", env=serving_env)
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    status, health = http(f"{url}/health")
    assert (status, health["alias"]) == (200, "champion"), health
    return Served(deployable, url, str(health["version"]))


@pytest.fixture
def newer_version(served: Served) -> NewerVersion:
    """Besides the served champion, a version trained after it on the same params, not deployed."""
    run_make(served.project, "train", "DVC_FLAGS=--force")
    newest = deploy_state(served.project)["newest"]
    assert newest != served.version, "the forced training registered a version"
    return NewerVersion(served.project, served.url, served.version, newest)


@pytest.fixture
def undeployed_champion(served: Served, serving_env: dict[str, str]) -> str:
    """A champion in the registry (its version is returned) and no server running, no PID file."""
    run_make(served.project, "undeploy", env=serving_env)
    return served.version
