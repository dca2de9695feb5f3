"""Tests for the registry owner: aliases, tags, history moves and serving examples on a real sqlite store."""

from __future__ import annotations

import uuid
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import MissingRunError, Record, Registry


@pytest.fixture
def registry(client: MlflowClient) -> Registry:
    """A registered model of three versions in the shared store (no artifacts behind them)."""
    name = f"model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(name)
    for _ in range(3):
        client.create_model_version(name, source="file:///nowhere")
    return Registry(client, name, "the test store")


def test_a_model_never_registered_has_nothing(client: MlflowClient) -> None:
    """An unknown model has no versions, aliases, history or challenger; lookups answer None."""
    missing = Registry(client, "never-registered", "the test store")
    assert missing.record() == Record((), frozenset(), {}, None)
    assert missing.aliases() == {}
    assert missing.challenger() is None
    assert missing.version_of("champion") is None
    assert missing.version("1") is None


def test_aliases_and_rolled_back_tags_are_read_back(registry: Registry) -> None:
    """What is set is what the next read sees, in one record."""
    registry.set_alias("champion", "2")
    registry.set_alias("challenger", "3")
    registry.mark_rolled_back("1")
    assert registry.record() == Record(
        ("1", "2", "3"), frozenset({"1"}), {"champion": "2", "challenger": "3"}, None
    )
    assert (registry.version_of("champion"), registry.challenger()) == ("2", "3")
    assert registry.version("3") == "3"
    assert registry.version("4") is None
    registry.mark_rolled_back("1", False)
    registry.delete_alias("challenger")
    assert registry.record().rolled_back == frozenset()
    assert registry.challenger() is None


def test_a_version_and_its_training_run_are_read_together(registry: Registry) -> None:
    """A version with a run gives both; one missing, or registered without a run, is one line naming it."""
    experiment = registry.client.create_experiment(f"runs-{uuid.uuid4().hex[:8]}")
    run = registry.client.create_run(experiment)
    registry.client.create_model_version(
        registry.name, source="file:///nowhere", run_id=run.info.run_id
    )

    version, found = registry.version_and_run("4")

    assert (str(version.version), found.info.run_id) == ("4", run.info.run_id)
    with pytest.raises(
        MissingRunError, match=rf"^{registry.name} has no version 9 in the registry: "
    ):
        registry.version_and_run("9")
    with pytest.raises(
        MissingRunError, match=r"^version 1 has no training run: it was registered by hand$"
    ):
        registry.version_and_run("1")


def test_a_version_whose_model_files_are_gone_is_one_line(
    registry: Registry, tmp_path: Path
) -> None:
    """A version registered from a folder the artifact store lost: MissingRunError naming it, nothing loaded."""
    mlflow.set_tracking_uri(registry.client.tracking_uri)  # where MLflow's download looks
    (tmp_path / "lost").mkdir()
    registry.client.create_model_version(registry.name, source=str(tmp_path / "lost"))
    with pytest.raises(
        MissingRunError, match=rf"^{registry.name} version 4 is registered in the test store, but"
    ):
        registry.download("4", tmp_path / "download")


def test_a_move_makes_the_aliases_and_history_say_what_it_asks(registry: Registry) -> None:
    """A move sets and removes champion/previous and records the history; other aliases stay."""
    registry.set_alias("challenger", "3")
    before = registry.record()
    registry.move(
        before, Record(before.versions, frozenset(), {"champion": "2", "previous": "1"}, ("1", "2"))
    )
    moved = registry.record()
    assert moved.aliases == {"champion": "2", "previous": "1", "challenger": "3"}
    assert moved.history == ("1", "2")
    registry.move(moved, Record(moved.versions, frozenset(), {"champion": "1"}, ("1",)))
    assert registry.record().aliases == {"champion": "1", "challenger": "3"}
    assert registry.record().history == ("1",)


def test_a_trained_version_has_its_serving_example(trained_project: Settings) -> None:
    """The example MLflow saved beside the model is fetched alone, whole or its first rows; none without one."""
    registry = Registry.open(trained_project)
    assert registry.store == trained_project.safe_tracking_uri
    example = registry.serving_example("1")
    assert example is not None
    assert set(example) == {"dataframe_split"}
    first = registry.serving_example("1", rows=1)
    assert first == {
        "dataframe_split": {
            **example["dataframe_split"],
            "data": example["dataframe_split"]["data"][:1],
        }
    }
    assert registry.serving_example("999") is None
    assert (registry.download("1") / "MLmodel").is_file()
