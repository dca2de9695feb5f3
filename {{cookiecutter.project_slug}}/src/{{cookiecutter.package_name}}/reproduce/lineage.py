"""What a registered version was built from, as its training run recorded it (the plugin's tags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..mlflow_plugin.context import PREFIX
from ..pipeline.params import Task
from . import ReproduceError

if TYPE_CHECKING:
    from ..tracking.registry import Registry

TEST_PREFIX = "test_"  # the train run logs the test split's metrics under this prefix


@dataclass(frozen=True)
class Lineage:
    """One version's training run: its commit, params and data hashes, test metrics and logged params."""

    version: str
    run_id: str
    commit: str
    params_sha256: str
    data: dict[str, str]  # DVC path -> md5 recorded when the run started
    metrics: dict[str, float]  # test-split metrics, without their prefix
    params: dict[str, str]  # the run's logged (flattened) params: task, data.target, ...

    @property
    def task(self) -> Task:
        """The task the run logged: regression, else classification."""
        return "regression" if self.params.get("task") == "regression" else "classification"


def lineage_of(
    version: str,
    run_id: str,
    tags: Mapping[str, str],
    metrics: Mapping[str, float],
    params: Mapping[str, str],
) -> Lineage:
    """The lineage in a run's tags; ReproduceError when they cannot vouch for a commit.

    A run tagged dirty was trained on changes the commit does not hold: rebuilding the commit would judge
    other code or params than the version's, so it is refused rather than reported as a difference.
    """
    commit = tags.get(f"{PREFIX}git.commit")
    dirty = tags.get(f"{PREFIX}git.dirty")
    if not commit:
        raise ReproduceError(
            f"version {version}: its run {run_id} recorded no git commit (trained outside a git "
            "repository, or before the first commit): there is nothing to rebuild from"
        )
    if dirty != "false":
        raise ReproduceError(
            f"version {version} was trained on uncommitted changes (git.dirty={dirty or 'unrecorded'}) "
            f"to commit {commit[:12]}: the commit does not hold what it was trained on; commit your "
            "changes, then train again (make train DVC_FLAGS=--force)"
        )
    data_prefix = f"{PREFIX}data."
    return Lineage(
        version=version,
        run_id=run_id,
        commit=commit,
        params_sha256=tags.get(f"{PREFIX}params.sha256", ""),
        data={k.removeprefix(data_prefix): v for k, v in tags.items() if k.startswith(data_prefix)},
        metrics={
            k.removeprefix(TEST_PREFIX): v for k, v in metrics.items() if k.startswith(TEST_PREFIX)
        },
        params=dict(params),
    )


def read_lineage(registry: Registry, version: str) -> Lineage:
    """The lineage of `version` of the registry's model, read from its training run."""
    _, run = registry.version_and_run(version)
    return lineage_of(version, run.info.run_id, run.data.tags, run.data.metrics, run.data.params)
