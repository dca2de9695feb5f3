"""End-to-end: `make train` runs the pipeline, tracks it in MLflow and registers the model (slow)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import project_env, project_python, run_make
from tests.e2e import FirstTraining

pytestmark = pytest.mark.slow

STORE_COUNTS = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
experiment = client.get_experiment_by_name(s.experiment_name)
print(json.dumps({
    "runs": len(client.search_runs([experiment.experiment_id])),
    "versions": len(client.search_model_versions(f"name='{s.model_name}'")),
}))
"""


def test_train_runs_the_pipeline_and_registers_a_model(first_training: FirstTraining) -> None:
    """`make train` leaves one FINISHED run and a registered, loadable model with its contract."""
    facts = first_training.facts
    assert facts["runs"] == [["FINISHED", "train"]]
    assert {"model.max_iter", "seed", "data.source"} <= set(facts["params"])
    assert {"val_accuracy", "test_accuracy", "test_roc_auc"} <= set(facts["metrics"])
    assert facts["plots"] == ["plots/confusion.png", "plots/roc.png"]
    assert facts["versions"] == 1
    assert facts["version_tags"]["data.md5"].endswith(
        ".dir"
    ), "tagged with the data hash in dvc.lock"
    assert facts["signature"]
    assert facts["predictions"] == facts["example_rows"] > 0
    assert facts["artifact_root"] == "tumor-classifier-artifacts:/", "named relative to the store"
    assert facts["clean_runs"] == 1, "the plugin tagged the run as made from a clean commit"
    assert {
        "tumor_classifier.git.commit",
        "tumor_classifier.params.sha256",
        "tumor_classifier.data.data/prepared",
        "tumor_classifier.lib.mlflow",
    } <= set(facts["provenance"])
    assert first_training.metrics["roc_auc"] > 0.9
    status = first_training.status
    staged = {line[3:] for line in status if line[0] == "A" and line[1] == " "}
    assert staged == {
        "poetry.lock",
        "dvc.lock",
        "data/.gitignore",
        "models/.gitignore",
        "models/run.json",
        "metrics.json",
        "reports/plots/confusion.csv",
        "reports/plots/roc.csv",
    }, status
    assert len(status) == len(staged), f"only staged run records, ready for one commit: {status}"


def test_second_train_is_a_no_op(trained: Path) -> None:
    """Nothing changed, so `make train` again creates no run and no version."""
    before = project_python(trained, STORE_COUNTS)
    result = run_make(trained, "train")
    assert "didn't change" in result.stdout + result.stderr or "up to date" in result.stdout
    after = project_python(trained, STORE_COUNTS)
    assert after["runs"] == before["runs"]
    assert after["versions"] == before["versions"]


def test_metrics_target_shows_the_test_metrics(trained: Path) -> None:
    """`make metrics` prints the metrics DVC tracks."""
    assert "roc_auc" in run_make(trained, "metrics").stdout


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("split: {test_size: 2}", "split.test_size=2: Input should be less than 1"),
        (
            "data: {source: datasets/missing.csv, target: y}",
            "datasets/missing.csv: data.source file not found",
        ),
    ],
)
def test_bad_params_fail_with_a_clear_message(
    installed_project: Path, tmp_path: Path, params: str, message: str
) -> None:
    """A bad params file or a missing CSV stops the stage with the key or path named."""
    shipped = yaml.safe_load((installed_project / "params.yaml").read_text())
    shipped.update(yaml.safe_load(params))
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(shipped))
    completed = subprocess.run(
        [installed_project / ".venv/bin/tumor-classifier", "ingest"],
        cwd=installed_project,
        env={**project_env(), "TUMOR_CLASSIFIER_PARAMS_FILE": str(bad)},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr
