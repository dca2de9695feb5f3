"""End-to-end: `make tune` with two worker processes, `make tune-apply`, `make train`, `make tune-ui` (slow)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, project_env, project_python, run_make, wait_for
from tests.e2e import CHROMIUM

pytestmark = pytest.mark.slow

TRIALS = 12
FINAL = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}

# The study of the current data and params, and the MLflow runs of the newest search over it.
SEARCH = """
import json, optuna
from mlflow.tracking import MlflowClient
from tumor_classifier.pipeline.params import load_params
from tumor_classifier.settings import load_settings
from tumor_classifier.tuning.search import Search
from tumor_classifier.tuning.storage import open_storage
s = load_settings()
search = Search.of(s, load_params(s.params_file))
study = optuna.load_study(study_name=search.name, storage=open_storage(s))
client = MlflowClient(s.resolved_tracking_uri)
found = f"tags.`optuna.study` = '{search.name}' and tags.`optuna.role` = 'search'"
parent = client.search_runs([search.experiment_id], found, order_by=["start_time DESC"])[0]
children = client.search_runs([search.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
running = client.search_runs([search.experiment_id], "attributes.status = 'RUNNING'")
print(json.dumps({
    "study": search.name,
    "metric": search.params.tuned_metric()[0],
    "trials": [[t.number, t.state.name, t.params] for t in study.trials],
    "best": [study.best_trial.number, study.best_trial.value, study.best_trial.params],
    "parent": [parent.info.status, parent.data.tags.get("optuna.best_trial")],
    "runs": [[r.data.tags.get("optuna.trial"), r.info.status, r.data.tags.get("optuna.state")]
             for r in children],
    "untagged": [r.info.run_id for r in children if "tumor_classifier.git.commit" not in r.data.tags],
    "running": len(running),
}))
"""

TRAIN_RUN = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
run = MlflowClient(s.resolved_tracking_uri).get_run(json.load(open("models/run.json"))["run_id"])
print(json.dumps({"params": run.data.params, "metrics": run.data.metrics}))
"""


@pytest.fixture(scope="module")
def tuned(installed_project: Path) -> dict[str, Any]:
    """The shared bake after a fresh study (its journal removed) got TRIALS trials from two workers."""
    shutil.rmtree(installed_project / ".optuna", ignore_errors=True)
    run_make(installed_project, "train")  # the prepared data the study is named after
    tuning = run_make(installed_project, "tune", f"TRIALS={TRIALS}", "WORKERS=2")
    assert f"{TRIALS} trials, 2 workers" in tuning.stdout
    return dict(project_python(installed_project, SEARCH))


def test_two_workers_share_one_study_and_each_trial_is_one_final_run(
    tuned: dict[str, Any],
) -> None:
    """Unique trial numbers; each trial one nested run in the final state that matches it; none RUNNING."""
    numbers = [number for number, _, _ in tuned["trials"]]
    assert sorted(numbers) == list(range(len(numbers))), "unique numbers, one study"
    # Optuna's MaxTrialsCallback stops each worker at TRIALS; one that was asking for a trial at that moment
    # may run one more.
    assert TRIALS <= len(numbers) <= TRIALS + 1, numbers
    states = {number: state for number, state, _ in tuned["trials"]}
    runs = tuned["runs"]
    assert sorted(int(trial) for trial, _, _ in runs) == numbers, "exactly one run per trial"
    for trial, status, state in runs:
        assert state == states[int(trial)]
        assert status == FINAL[state], (trial, status, state)
    assert tuned["running"] == 0
    assert tuned["untagged"] == [], "the project's plugin tags every trial run with its provenance"
    assert tuned["parent"] == ["FINISHED", str(tuned["best"][0])]
    assert "COMPLETE" in states.values()


def test_apply_then_train_trains_the_best_trial(
    tuned: dict[str, Any], installed_project: Path
) -> None:
    """tune-apply writes the best trial's values; make train's run has exactly them, and their score."""
    project = installed_project
    _, value, best = tuned["best"]
    try:
        applied = run_make(project, "tune-apply").stdout
        assert re.search(r"^  \w+: .+ -> .+$", applied, flags=re.MULTILINE), applied
        diff = subprocess.run(
            ["git", "diff", "--unified=0", "params.yaml"],
            cwd=project, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        changed = [line for line in diff.splitlines() if line.startswith("+ ")]
        assert changed, diff
        assert all(line.split(":")[0].strip("+ ") in best for line in changed), diff
        run_make(project, "train")
        run = project_python(project, TRAIN_RUN)
        for name, chosen in best.items():
            assert float(run["params"][f"model.{name}"]) == chosen, name
        score = run["metrics"][f"val_{tuned['metric']}"]
        assert score == pytest.approx(
            value, abs=1e-12
        ), "the best trial's value is train's val score"
    finally:
        subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=project, check=True)
        # The newest plain version is trained on the shipped params again, as the other tests expect.
        run_make(project, "train", "DVC_FLAGS=--force")


def test_the_dashboard_draws_the_study_and_its_trials(
    tuned: dict[str, Any], installed_project: Path, tmp_path: Path
) -> None:
    """`make tune-ui` serves Optuna's dashboard on 127.0.0.1: a browser finds the study and its trials."""
    port = free_port()
    ui = subprocess.Popen(
        ["make", "tune-ui"],
        cwd=installed_project,
        env={**project_env(), "TUMOR_CLASSIFIER_TUNE_UI_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        studies = json.loads(wait_for(f"{base}/api/studies"))["study_summaries"]
        study = next(s for s in studies if s["study_name"] == tuned["study"])

        def page(path: str) -> str:
            return subprocess.run(
                [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", base + path],
                capture_output=True, text=True, timeout=120,
            ).stdout  # fmt: skip

        overview = page(f"/dashboard/studies/{study['study_id']}")
        assert tuned["study"] in overview
        complete = [number for number, state, _ in tuned["trials"] if state == "COMPLETE"]
        assert overview.count('class="point"') >= len(complete), "the history plot draws the trials"
        trials = page(f"/dashboard/studies/{study['study_id']}/trials")
        listed = set(re.findall(r"Trial (\d+)\b", trials))
        assert {str(number) for number, _, _ in tuned["trials"]} <= listed
    finally:
        os.killpg(ui.pid, signal.SIGTERM)
        ui.wait(timeout=30)
