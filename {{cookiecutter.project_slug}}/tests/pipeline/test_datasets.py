"""The train run's MLflow dataset inputs: the three splits, named by their DVC path and hash."""

from __future__ import annotations

from collections.abc import Iterator

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.pipeline import ingest, prepare, train
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.settings import Settings

PREPARED_MD5 = "0123456789abcdef0123456789abcdef.dir"
LOCK = f"""schema: '2.0'
stages:
  prepare:
    cmd: {{ cookiecutter.project_slug }} prepare
    outs:
    - path: data/prepared
      hash: md5
      md5: {PREPARED_MD5}
"""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, params: Params) -> Iterator[str]:
    """The run id of one training in a temporary project whose dvc.lock records data/prepared."""
    root = tmp_path_factory.mktemp("datasets")
    settings = Settings(_env_file=None, project_root=root)
    ingest.run(settings, params)
    prepare.run(settings, params)
    (root / "dvc.lock").write_text(LOCK)
    record = train.run(settings, params)
    yield str(record["run_id"])
    mlflow.set_tracking_uri("")


def test_the_splits_are_the_runs_dataset_inputs(trained_run: str) -> None:
    """Train, validation and test are inputs with DVC's md5 as digest, the split as context."""
    inputs = MlflowClient().get_run(trained_run).inputs
    assert inputs is not None, "the run has inputs"
    found = {
        next(tag.value for tag in item.tags if tag.key == "mlflow.data.context"): item.dataset
        for item in inputs.dataset_inputs
    }
    assert sorted(found) == ["test", "train", "val"], found
    for context, dataset in found.items():
        assert dataset.digest == PREPARED_MD5, (context, dataset.digest)
        assert dataset.name == context
        assert f"data/prepared/{context}.csv" in dataset.source, dataset.source


def test_search_runs_shows_the_datasets(trained_run: str) -> None:
    """`mlflow.search_runs` finds the run by its dataset's digest, without the project's tag names."""
    runs = mlflow.search_runs(
        search_all_experiments=True,
        filter_string=f"dataset.digest = '{PREPARED_MD5}' AND dataset.context = 'train'",
        output_format="list",
    )
    assert [run.info.run_id for run in runs] == [trained_run]
