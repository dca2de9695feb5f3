"""The model registry: every read and write of registered versions, their aliases and tags, and logging a model.

`Registry` is one registered model seen through one client: a command opens it once (`Registry.open`) and
hands it down, so the store is connected once per command. The deploy state the registry holds, the
`champion.history` tag and the `rolled_back` version tags, is given meaning by `deploy/aliases.py`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from ..errors import ProjectError
from ..settings import Settings
from .store import CHALLENGER, CHAMPION, PREVIOUS, active_client, connect

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

# The MLmodel metadata keys: the columns that had missing values in training, and the data contract's rules
# for the feature columns (ranges, categories), which serving enforces.
NULLABLE_KEY = "nullable_columns"
CONTRACT_KEY = "data_contract"
# The serving environment: pinned from what is installed, because inferring requirements costs seconds.
REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")
# The scoring payload MLflow saves beside a model logged with an input example.
SERVING_EXAMPLE = "serving_input_example.json"
# The deploy state beside the aliases: on the registered model, the versions that were champion (oldest
# first); on a version, that a rollback (or an aborted canary) took it out of service.
HISTORY_TAG = "champion.history"
ROLLED_BACK_TAG = "rolled_back"


class MissingRunError(ProjectError, LookupError):
    """The registry has no such version, or the version has no training run; the message says which."""


class DeployRecord(Protocol):
    """What a move of the deploy aliases writes: the versions, the aliases, the champion history."""

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version number, oldest first."""

    @property
    def aliases(self) -> Mapping[str, str]:
        """Each alias and the version it names."""

    @property
    def history(self) -> tuple[str, ...] | None:
        """The versions that were champion, oldest first (None: never recorded)."""


@dataclass(frozen=True)
class Record:
    """What the registry holds about one model's deploy, read at once."""

    versions: tuple[str, ...]  # every version number, oldest first
    rolled_back: frozenset[str]
    aliases: dict[str, str]
    history: tuple[str, ...] | None  # the history tag, None when never written


@dataclass(frozen=True)
class Registry:
    """One registered model in the project's store, through one client."""

    client: MlflowClient
    name: str
    store: str  # the store's address without credentials, for messages

    @classmethod
    def open(cls, settings: Settings) -> Registry:
        """Connect to the project's store (once per command) for the project's model."""
        return cls(connect(settings), settings.model_name, settings.safe_tracking_uri)

    def record(self) -> Record:
        """Every version, the rolled-back ones, the aliases and the history tag."""
        found = self.client.search_model_versions(f"name='{self.name}'")
        versions = tuple(sorted((str(v.version) for v in found), key=int))
        rolled = frozenset(str(v.version) for v in found if v.tags.get(ROLLED_BACK_TAG) == "true")
        if not versions:
            return Record(versions, rolled, {}, None)
        model = self.client.get_registered_model(self.name)
        aliases = {alias: str(number) for alias, number in model.aliases.items()}
        raw = model.tags.get(HISTORY_TAG)
        return Record(versions, rolled, aliases, tuple(json.loads(raw)) if raw else None)

    def aliases(self) -> dict[str, str]:
        """Each alias and the version it names; none before the model is registered."""
        if not self.client.search_registered_models(f"name='{self.name}'"):
            return {}
        model = self.client.get_registered_model(self.name)
        return {alias: str(number) for alias, number in model.aliases.items()}

    def challenger(self) -> str | None:
        """The version in a canary, if one runs."""
        return self.aliases().get(CHALLENGER)

    def version_of(self, alias: str) -> str | None:
        """The version an alias names, or None."""
        try:
            return str(self.client.get_model_version_by_alias(self.name, alias).version)
        except MlflowException:
            return None

    def version(self, number: str) -> str | None:
        """Version `number` as the registry numbers it, or None when it is not registered."""
        try:
            return str(self.client.get_model_version(self.name, number).version)
        except MlflowException:
            return None

    def version_and_run(self, number: str) -> tuple[ModelVersion, Run]:
        """Version `number` and its training run; MissingRunError without such a version or run."""
        try:
            registered = self.client.get_model_version(self.name, number)
        except MlflowException:
            raise MissingRunError(
                f"{self.name} has no version {number} in the registry: pick one `make ui` lists"
            ) from None
        if not registered.run_id:
            raise MissingRunError(
                f"version {number} has no training run: it was registered by hand"
            )
        return registered, self.client.get_run(registered.run_id)

    def set_alias(self, alias: str, number: str) -> None:
        """Point `alias` at version `number`."""
        self.client.set_registered_model_alias(self.name, alias, number)

    def delete_alias(self, alias: str) -> None:
        """Remove `alias`."""
        self.client.delete_registered_model_alias(self.name, alias)

    def mark_rolled_back(self, number: str, rolled_back: bool = True) -> None:
        """Take version `number` out of service (no deploy picks it), or put it back."""
        if rolled_back:
            self.client.set_model_version_tag(self.name, number, ROLLED_BACK_TAG, "true")
        else:
            self.client.delete_model_version_tag(self.name, number, ROLLED_BACK_TAG)

    def tag_version(self, number: str, tags: Mapping[str, str]) -> None:
        """Set tags on version `number` (what was found about it: a verdict, where its card is)."""
        for key, value in tags.items():
            self.client.set_model_version_tag(self.name, number, key, value)

    def move(self, before: DeployRecord, after: DeployRecord) -> None:
        """Write what differs from `before` to make the champion/previous aliases and history say `after`.

        The aliases move first, champion first (it is what is served); the history is recorded last, so
        a move cut short is completed from the aliases by the next command (see deploy/aliases.py).
        """
        for alias in (CHAMPION, PREVIOUS):
            target = after.aliases.get(alias)
            if target is not None and before.aliases.get(alias) != target:
                self.set_alias(alias, target)
            elif target is None and alias in before.aliases:
                self.delete_alias(alias)
        if after.versions and after.history != before.history:
            record = json.dumps(list(after.history or ()))
            self.client.set_registered_model_tag(self.name, HISTORY_TAG, record)

    def serving_example(self, number: str, rows: int | None = None) -> dict[str, Any] | None:
        """The scoring payload saved beside version `number` (its first `rows` only), or None without one.

        Only that file is fetched: loading the model for it would add seconds to every deploy.
        """
        uri = f"models:/{self.name}/{number}/{SERVING_EXAMPLE}"
        try:
            payload: dict[str, Any] = json.loads(
                Path(mlflow.artifacts.download_artifacts(uri)).read_text()
            )
        except (MlflowException, OSError):
            return None
        split = payload.get("dataframe_split")
        if rows is not None and isinstance(split, dict) and isinstance(split.get("data"), list):
            split["data"] = split["data"][:rows]
        return payload

    def download(self, number: str, folder: Path | None = None) -> Path:
        """Version `number`'s MLmodel folder, downloaded into `folder` (else a cache MLflow picks).

        MissingRunError when the artifact store lost it (MLflow then downloads nothing, quietly).
        """
        uri, into = f"models:/{self.name}/{number}", None if folder is None else str(folder)
        with suppress(MlflowException, OSError):
            found = Path(mlflow.artifacts.download_artifacts(uri, dst_path=into))
            if (found / "MLmodel").is_file():
                return found
        raise MissingRunError(
            f"{self.name} version {number} is registered in {self.store}, but its model files are not in "
            "the artifact store: deploy another version, or train again (make train DVC_FLAGS=--force)"
        )


def pinned_requirements() -> list[str]:
    """`name==version` for each runtime requirement of the logged model."""
    return [f"{name}=={version(name)}" for name in REQUIREMENTS]


def log_and_register(
    model: Any,
    input_example: pd.DataFrame,
    *,
    name: str,
    local_dir: Path,
    version_tags: dict[str, str],
    trusted_types: list[str],
    nullable_columns: list[str],
    contract_rules: dict[str, dict[str, Any]] | None = None,
) -> str:
    """Log the model to the active run, register it, copy it locally (a DVC output); return the version.

    MLflow saves scikit-learn models with skops, which loads only the types it is told to trust:
    `trusted_types` names the model's own classes beyond those skops trusts by default.
    `nullable_columns` (those with missing values in training) go into the MLmodel's metadata: serving
    accepts missing values in these columns only, and enforces `contract_rules` (pipeline/contract.py).
    """
    signature = infer_signature(input_example, model.predict(input_example))
    contract: dict[str, Any] = {
        "signature": signature,
        "input_example": input_example,
        "pip_requirements": pinned_requirements(),
        "skops_trusted_types": trusted_types,
        "metadata": {NULLABLE_KEY: nullable_columns, CONTRACT_KEY: contract_rules or {}},
    }
    info = mlflow.sklearn.log_model(model, name="model", registered_model_name=name, **contract)
    # The DVC output is a copy of what was logged (serialising twice costs seconds).
    shutil.rmtree(local_dir, ignore_errors=True)
    local_dir.mkdir(parents=True)
    mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(local_dir))
    registered = str(info.registered_model_version)
    client = active_client()  # the active run's store
    for key, value in version_tags.items():
        client.set_model_version_tag(name, registered, key, value)
    return registered
