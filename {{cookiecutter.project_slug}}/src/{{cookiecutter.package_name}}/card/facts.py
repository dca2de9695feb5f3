"""What a model card says, read from the store: the version, its run, its model and its deploy history.

Nothing here is computed again: the metrics, params, data hashes and dataset inputs are what the training run
recorded, the signature and the data contract what the logged model carries, the aliases and the reproduce
verdict what the registry holds now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..mlflow_plugin.context import PREFIX
from ..reproduce.check import DATE_TAG, VERDICT_TAG
from ..reproduce.lineage import TEST_PREFIX
from ..tracking.registry import CONTRACT_KEY, Registry

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.models.model import ModelInfo

DATA_PATHS = (
    "data/",
    "datasets",
)  # what DVC tracks as the pipeline's data (the rest: models, reports)


@dataclass(frozen=True)
class Dataset:
    """One dataset input of the training run: a split, where it came from, and DVC's hash of it."""

    context: str  # train, validation or test
    source: str
    digest: str
    rows: int | None


@dataclass(frozen=True)
class Facts:
    """Everything the card states about one registered version."""

    model: str
    version: str
    run_id: str
    trained: datetime
    commit: str | None
    dirty: bool | None
    task: str
    params: dict[str, str]
    metrics: dict[str, float]  # test split, without the prefix
    data: dict[str, str]  # DVC path -> md5, from the plugin's tags
    datasets: tuple[Dataset, ...]
    inputs: tuple[tuple[str, str], ...]  # (column, type) from the signature
    contract: dict[str, dict[str, Any]]  # column -> rules (min, max, categories)
    example: dict[str, Any] | None  # the serving example's first row: what a request looks like
    aliases: tuple[str, ...]  # the aliases on this version now
    history: tuple[str, ...]  # the versions that were champion, oldest first
    reproduced: str | None  # the last `make reproduce` verdict, with its date


def read_facts(registry: Registry, version: str) -> Facts:
    """The facts of `version`; MissingRunError when the registry has no such version or it has no run."""
    from mlflow.models import get_model_info

    registered, run = registry.version_and_run(version)
    info = get_model_info(f"models:/{registry.name}/{version}")
    record = registry.record()
    return Facts(
        model=registry.name,
        version=str(version),
        run_id=run.info.run_id,
        trained=datetime.fromtimestamp(run.info.start_time / 1000, UTC),
        commit=run.data.tags.get(f"{PREFIX}git.commit"),
        dirty=_flag(run.data.tags.get(f"{PREFIX}git.dirty")),
        task=run.data.params.get("task", "classification"),
        params=dict(run.data.params),
        metrics={
            key.removeprefix(TEST_PREFIX): value
            for key, value in run.data.metrics.items()
            if key.startswith(TEST_PREFIX)
        },
        data=_data_hashes(run),
        datasets=_datasets(run),
        inputs=_inputs(info),
        contract=dict((info.metadata or {}).get(CONTRACT_KEY) or {}),
        example=registry.serving_example(str(version), rows=1),
        aliases=tuple(sorted(a for a, number in record.aliases.items() if number == str(version))),
        history=record.history or (),
        reproduced=_reproduced(registered.tags),
    )


def _inputs(info: ModelInfo) -> tuple[tuple[str, str], ...]:
    """Each input column of the model's signature and its type."""
    columns = info.signature.inputs.inputs if info.signature else []
    return tuple(
        (str(column.name), str(getattr(column.type, "name", column.type))) for column in columns
    )


def _flag(text: str | None) -> bool | None:
    return None if text is None else text == "true"


def _data_hashes(run: Run) -> dict[str, str]:
    """DVC's hashes of the data the run read (the plugin's tags name its reports and metrics too)."""
    prefix = f"{PREFIX}data."
    hashes = {k.removeprefix(prefix): v for k, v in run.data.tags.items() if k.startswith(prefix)}
    return {path: md5 for path, md5 in hashes.items() if path.startswith(DATA_PATHS)}


def _datasets(run: Run) -> tuple[Dataset, ...]:
    """The run's dataset inputs (`mlflow.log_input`), in the order train, validation, test."""
    import json

    found = []
    for entry in run.inputs.dataset_inputs if run.inputs else []:
        context = next((t.value for t in entry.tags if t.key == "mlflow.data.context"), "")
        profile = json.loads(entry.dataset.profile or "{}")
        source = json.loads(entry.dataset.source or "{}")
        rows = profile.get("num_rows")
        found.append(
            Dataset(
                context,
                str(source.get("uri") or entry.dataset.source),
                entry.dataset.digest,
                int(rows) if rows is not None else None,
            )
        )
    order = {"train": 0, "val": 1, "validation": 1, "test": 2}
    return tuple(sorted(found, key=lambda d: order.get(d.context, len(order))))


def _reproduced(tags: dict[str, str]) -> str | None:
    verdict = tags.get(VERDICT_TAG)
    return None if verdict is None else f"{verdict} ({tags.get(DATE_TAG, 'date unrecorded')})"
