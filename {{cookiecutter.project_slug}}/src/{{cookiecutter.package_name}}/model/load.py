"""Load a model version, from the registry by alias or number, or from its MLmodel folder."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from ..errors import ProjectError
from ..settings import Settings
from ..tracking.registry import CONTRACT_KEY, NULLABLE_KEY, Registry
from ..tracking.store import CHAMPION
from .loaded import DTYPES, SERVING_EXAMPLE, InputError, LoadedModel


class ModelNotFoundError(ProjectError, LookupError):
    """The registry has no version under that alias or number; the message says what to run."""


def resolve_version(settings: Settings, alias: str | None, version: str | None) -> str:
    """The version number an alias (or an explicit version) points to in the project's registry."""
    return find_version(Registry.open(settings), alias, version)


def find_version(registry: Registry, alias: str | None, version: str | None) -> str:
    """The version number an alias (or an explicit version) points to; ModelNotFoundError when none."""
    found = (
        registry.version(version) if version is not None else registry.version_of(alias or CHAMPION)
    )
    if found is None:
        wanted = (
            f"version {version}"
            if version is not None
            else f"version with alias '{alias or CHAMPION}'"
        )
        raise ModelNotFoundError(
            f"{registry.name} has no {wanted} in {registry.store}: "
            "run `make deploy` first (or `make train`, if nothing was trained yet)"
        )
    return found


def load_model(
    settings: Settings, alias: str | None = CHAMPION, version: str | None = None
) -> LoadedModel:
    """Load `models:/<name>@<alias>` (or a version) of the project's registry through its native flavor."""
    return load_registered(Registry.open(settings), alias, version)


def load_registered(
    registry: Registry, alias: str | None = CHAMPION, version: str | None = None
) -> LoadedModel:
    """Load the version an alias names (or a version) through its native flavor, once."""
    number = find_version(registry, alias, version)
    return load_model_folder(
        registry.download(number), registry.name, number, None if version is not None else alias
    )


def load_model_folder(
    folder: Path, name: str, version: str, alias: str | None = None
) -> LoadedModel:
    """Load a model from its MLmodel folder (downloaded from the registry, or exported beside a server)."""
    import mlflow
    from mlflow.models import Model

    meta = Model.load(str(folder))
    if meta.signature is None:
        raise InputError(f"{name} version {version} has no signature to check inputs with")
    inputs = meta.signature.inputs
    columns = {
        str(column): DTYPES.get(kind.name, "object")
        for column, kind in zip(inputs.input_names(), inputs.input_types(), strict=True)
    }
    example = meta.load_input_example(str(folder))
    nullable = frozenset((meta.metadata or {}).get(NULLABLE_KEY, []))
    rules = (meta.metadata or {}).get(CONTRACT_KEY, {})
    native = mlflow.sklearn.load_model(str(folder))
    if all(dtype != "object" for dtype in columns.values()):
        # A numeric signature is checked by LoadedModel.prepare; predicting on a matrix is 2x faster.
        with contextlib.suppress(AttributeError):  # a Pipeline derives it and cannot drop it
            del native.feature_names_in_
    serving_example = folder / SERVING_EXAMPLE
    return LoadedModel(
        name=name,
        version=version,
        alias=alias,
        native=native,
        columns=columns,
        input_example=example if isinstance(example, pd.DataFrame) else None,
        nullable=nullable,
        rules=rules,
        serving_example=(
            json.loads(serving_example.read_text()) if serving_example.is_file() else None
        ),
    )
