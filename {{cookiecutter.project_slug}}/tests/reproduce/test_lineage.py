"""Reading a version's lineage: from its run's tags in a real store, and the refusals of what cannot vouch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.reproduce import ReproduceError
from {{ cookiecutter.package_name }}.reproduce.lineage import lineage_of, read_lineage
from {{ cookiecutter.package_name }}.tracking.registry import MissingRunError, Registry

P = "{{ cookiecutter.package_name }}."
CLEAN = {f"{P}git.commit": "a" * 40, f"{P}git.dirty": "false", f"{P}params.sha256": "b" * 64}


def test_reads_commit_params_data_and_test_metrics() -> None:
    """The commit, params hash, each data hash and the test metrics (without their prefix) are read."""
    tags = {**CLEAN, f"{P}data.data/raw": "r.dir", f"{P}data.data/prepared": "p.dir", "other": "x"}
    metrics = {"test_accuracy": 0.97, "val_accuracy": 0.95}
    lineage = lineage_of("3", "run", tags, metrics, {"task": "classification"})
    assert (lineage.commit, lineage.params_sha256) == ("a" * 40, "b" * 64)
    assert lineage.data == {"data/raw": "r.dir", "data/prepared": "p.dir"}
    assert lineage.metrics == {"accuracy": 0.97}
    assert lineage.task == "classification"


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({**CLEAN, f"{P}git.dirty": "true"}, "uncommitted changes (git.dirty=true)"),
        ({f"{P}git.commit": "a" * 40}, "git.dirty=unrecorded"),
        ({f"{P}git.dirty": "false"}, "no git commit"),
    ],
)
def test_refuses_a_run_that_cannot_vouch_for_a_commit(tags: dict[str, str], reason: str) -> None:
    """A dirty run, one without its dirty flag, or without a commit cannot be judged, and says why."""
    with pytest.raises(ReproduceError, match="version 3") as raised:
        lineage_of("3", "run", tags, {}, {})
    assert reason in str(raised.value)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[MlflowClient]:
    """A real sqlite store with one model, whose version 1 was logged by a run tagged clean."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    store = MlflowClient(uri)
    experiment = store.create_experiment("e", artifact_location=str(tmp_path / "artifacts"))
    run = store.create_run(experiment, tags=CLEAN)
    store.log_metric(run.info.run_id, "test_accuracy", 0.9)
    store.set_terminated(run.info.run_id)
    store.create_registered_model("m")
    store.create_model_version("m", str(tmp_path / "model"), run_id=run.info.run_id)
    yield store
    mlflow.set_tracking_uri("")


def test_reads_a_registered_version_from_the_store(client: MlflowClient) -> None:
    """The version's run is found through the registry and its lineage read."""
    lineage = read_lineage(Registry(client, "m", "store"), "1")
    assert (lineage.version, lineage.commit, lineage.metrics) == ("1", "a" * 40, {"accuracy": 0.9})


def test_a_version_that_does_not_exist_is_named(client: MlflowClient) -> None:
    """Asking for a version the registry lacks is one line naming it."""
    with pytest.raises(MissingRunError, match="m has no version 9 in the registry"):
        read_lineage(Registry(client, "m", "store"), "9")
