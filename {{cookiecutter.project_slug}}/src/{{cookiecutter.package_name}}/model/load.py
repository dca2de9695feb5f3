"""Load a model version, from the registry by alias or number, or from its MLmodel folder."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pandas as pd

from ..errors import ProjectError
from ..settings import Settings
from ..tracking.registry import CONTRACT_KEY, NULLABLE_KEY
from ..tracking.store import CHAMPION, connect
from .loaded import DTYPES, SERVING_EXAMPLE, InputError, LoadedModel


class ModelNotFoundError(ProjectError, LookupError):
    """The registry has no version under that alias or number; the message says what to run."""


def resolve_version(settings: Settings, alias: str | None, version: str | None) -> str:
    """The version number an alias (or an explicit version) points to in the registry."""
    from mlflow.exceptions import MlflowException

    client = connect(settings)
    try:
        if version is not None:
            return str(client.get_model_version(settings.model_name, version).version)
        return str(
            client.get_model_version_by_alias(settings.model_name, alias or CHAMPION).version
        )
    except MlflowException:
        wanted = (
            f"version {version}"
            if version is not None
            else f"version with alias '{alias or CHAMPION}'"
        )
        raise ModelNotFoundError(
            f"{settings.model_name} has no {wanted} in {settings.safe_tracking_uri}: "
            "run `make deploy` first (or `make train`, if nothing was trained yet)"
        ) from None


def load_model(
    settings: Settings, alias: str | None = CHAMPION, version: str | None = None
) -> LoadedModel:
    """Load `models:/<name>@<alias>` (or a version) through its native flavor, once."""
    import mlflow

    number = resolve_version(settings, alias, version)  # also points MLflow at the project's store
    local = mlflow.artifacts.download_artifacts(f"models:/{settings.model_name}/{number}")
    return load_model_folder(
        Path(local), settings.model_name, number, None if version is not None else alias
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
