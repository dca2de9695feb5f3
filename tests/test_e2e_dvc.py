"""End-to-end: DVC experiments, temporary and queued, are tracked in the project's own store (slow)."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import project_env, project_python

pytestmark = pytest.mark.slow

EXPERIMENT_RUNS = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
exp = client.get_experiment_by_name(s.experiment_name)
runs = client.search_runs([exp.experiment_id], "tags.`tumor_classifier.dvc.experiment` != ''")
print(json.dumps(sorted(
    (r.data.tags["tumor_classifier.dvc.experiment"], r.data.params["model.learning_rate"], r.info.status)
    for r in runs
)))
"""


def dvc(project: Path, *args: str) -> str:
    """Run the baked project's DVC; return what it printed."""
    identity = {  # experiments are git commits: never depend on the machine's git identity
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "t"), ("EMAIL", "t@example.com"))
    }
    env = project_env()
    env["PATH"] = (
        f"{project / '.venv/bin'}:{env['PATH']}"  # as `poetry run` or an active venv has it
    )
    completed = subprocess.run(
        [project / ".venv/bin/dvc", *args],
        cwd=project,
        env={**env, **identity},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, f"dvc {' '.join(args)}:\n{completed.stdout}{completed.stderr}"
    return completed.stdout


def test_dvc_experiments_land_in_the_project_store(trained: Path) -> None:
    """Temporary and queued DVC experiments (two workers) log to the project's own store, named."""
    subprocess.run(["git", "add", "--all"], cwd=trained, check=True)
    subprocess.run(
        # --no-verify: the project's pre-commit hooks are not what this test is about
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "trained",
            "--no-verify",
            "--allow-empty",  # whatever the tests before committed
        ],
        cwd=trained,
        check=True,
    )
    dvc(trained, "exp", "run", "--temp", "-n", "temp-lr", "-S", "model.learning_rate=0.2")
    for name, rate in (("queued-a", "0.3"), ("queued-b", "0.05")):
        dvc(trained, "exp", "run", "--queue", "-n", name, "-S", f"model.learning_rate={rate}")
    dvc(trained, "queue", "start", "-j", "2")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and re.search(
            r"Running|Queued", dvc(trained, "queue", "status")
        ):
            time.sleep(2)
    finally:
        dvc(trained, "queue", "stop", "--kill")  # no worker outlives the test
    runs = project_python(trained, EXPERIMENT_RUNS)
    assert runs == [
        ["queued-a", "0.3", "FINISHED"],
        ["queued-b", "0.05", "FINISHED"],
        ["temp-lr", "0.2", "FINISHED"],
    ]
    assert "queued-a" in dvc(trained, "exp", "show", "--no-pager", "--csv")


VERSION_COUNT = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
print(len(MlflowClient(s.resolved_tracking_uri).search_model_versions(f"name='{s.model_name}'")))
"""


def test_a_new_file_beside_the_source_trains_nothing(trained: Path) -> None:
    """A file added under datasets/ re-runs only ingest, whose output is unchanged: no new model version."""
    versions = project_python(trained, VERSION_COUNT)
    unrelated = trained / "datasets/notes.csv"
    unrelated.write_text("a,b\n1,2\n")
    try:
        status = dvc(trained, "status")
        assert "ingest:" in status, status
        assert "train:" not in status, status
        repro = dvc(trained, "repro")
        assert "Stage 'train' didn't change, skipping" in repro, repro
        assert project_python(trained, VERSION_COUNT) == versions
    finally:
        unrelated.unlink()
