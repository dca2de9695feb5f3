"""The stage runners end to end on a temporary project with a real MLflow sqlite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.pipeline import PipelineError, evaluate, ingest, prepare, train
from {{ cookiecutter.package_name }}.pipeline.model import load_saved_model
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking import MetricAlertError


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, params: Params) -> Iterator[Settings]:
    """A temporary project that has been through ingest and prepare."""
    root = tmp_path_factory.mktemp("project")
    settings = Settings(_env_file=None, project_root=root)
    ingest.run(settings, params)
    prepare.run(settings, params)
    yield settings
    mlflow.set_tracking_uri("")


@pytest.fixture(scope="module")
def trained(project: Settings, params: Params) -> dict[str, object]:
    """The record of one train + evaluate."""
    record = train.run(project, params)
    evaluate.run(project, params)
    return record


def test_run_is_tracked_and_model_registered(project: Settings, trained: dict[str, object]) -> None:
    """One FINISHED run with params, curves, test metrics, plots; a registered version with a contract."""
    client = MlflowClient(project.resolved_tracking_uri)
    run = client.get_run(str(trained["run_id"]))
    assert run.info.status == "FINISHED"
    assert "model.max_iter" in run.data.params
    assert any(name.startswith("test_") for name in run.data.metrics)
    curve = next(name for name in run.data.metrics if name.startswith("val_"))
    assert len(client.get_metric_history(run.info.run_id, curve)) > 10, "a point per iteration"
    artifacts = {item.path for item in client.list_artifacts(run.info.run_id, "plots")}
    assert artifacts, "plots are logged as artifacts"
    version = client.get_model_version(project.model_name, str(trained["version"]))
    assert version.run_id == run.info.run_id
    model = mlflow.models.Model.load(f"models:/{project.model_name}/{trained['version']}")
    assert model.signature is not None
    assert model.saved_input_example_info is not None
    assert (project.artifacts_dir).is_dir(), "artifacts live in the project's store"


def test_registered_model_predicts(project: Settings, trained: dict[str, object]) -> None:
    """The registered version loads as pyfunc and predicts on its input example."""
    uri = f"models:/{project.model_name}/{trained['version']}"
    # MLflow annotates this as str | None, but a DataFrame example loads as a DataFrame.
    example: Any = mlflow.models.Model.load(uri).load_input_example(
        mlflow.artifacts.download_artifacts(uri)
    )
    predictions = mlflow.pyfunc.load_model(uri).predict(example)
    assert len(predictions) == len(example)


def test_evaluate_agrees_with_the_tracked_run(
    project: Settings, trained: dict[str, object]
) -> None:
    """Scoring the saved model file (DVC's metrics.json) gives the test metrics the run logged."""
    logged = (
        MlflowClient(project.resolved_tracking_uri).get_run(str(trained["run_id"])).data.metrics
    )
    scores = json.loads((project.project_root / evaluate.METRICS_FILE).read_text())
    assert scores == pytest.approx({name: logged[f"test_{name}"] for name in scores})


def test_evaluate_reads_only_skops_models(tmp_path: Path) -> None:
    """A model folder saved another way is refused before anything is unpickled, the folder named."""
    (tmp_path / "MLmodel").write_text(
        "flavors:\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n"
    )
    with pytest.raises(PipelineError, match=f"{tmp_path}: not a skops-serialised model"):
        load_saved_model(tmp_path)


def test_metrics_are_reproducible(
    project: Settings, params: Params, trained: dict[str, object]
) -> None:
    """Training again with the same params and data gives identical test metrics."""
    first = json.loads((project.project_root / evaluate.METRICS_FILE).read_text())
    train.run(project, params)
    assert evaluate.run(project, params) == first


def test_failed_training_is_marked_failed(project: Settings, params: Params) -> None:
    """A run that fails (an alert set to fail) ends FAILED, not RUNNING, and the error surfaces."""
    limits = {name: {"min": 1e9} for name in params.alerts.limits}
    alerts = {"fail": True, "limits": limits}
    strict = Params.model_validate({**params.model_dump(), "alerts": alerts})
    with pytest.raises(MetricAlertError):
        train.run(project, strict)
    client = MlflowClient(project.resolved_tracking_uri)
    experiment = client.get_experiment_by_name(project.experiment_name)
    assert experiment is not None
    latest = client.search_runs(
        [experiment.experiment_id], order_by=["start_time DESC"], max_results=1
    )
    assert latest[0].info.status == "FAILED"


def test_missing_prepared_data_fails_clearly(tmp_path: Path, params: Params) -> None:
    """Training before prepare names the missing file."""
    settings = Settings(_env_file=None, project_root=tmp_path)
    with pytest.raises(PipelineError, match=r"prepared/train\.csv not found.*make data"):
        train.run(settings, params)


def test_a_corrupt_dvc_lock_stops_training_by_name(project: Settings, params: Params) -> None:
    """Training refuses a dvc.lock it cannot read, naming the file and the fix, and starts no run."""
    lock = project.project_root / "dvc.lock"
    lock.write_text("stages: [this is: not: valid")
    try:
        with pytest.raises(
            PipelineError, match=r"dvc\.lock: not a readable dvc\.lock.*git checkout"
        ):
            train.run(project, params)
    finally:
        lock.unlink()
