"""Load a registered model by alias and predict: one code path for the server and for batch files."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .settings import Settings
from .tracking.registry import CONTRACT_KEY, NULLABLE_KEY
from .tracking.store import CHAMPION, connect

# The scoring payload MLflow saves beside a model logged with an input example.
SERVING_EXAMPLE = "serving_input_example.json"
# MLflow signature types -> the dtype each column is coerced to before predicting.
DTYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "object",
}


class ModelNotFoundError(LookupError):
    """The registry has no version under that alias or number; the message says what to run."""


class InputError(ValueError):
    """Rows that do not match the model's signature; `field` names the column at fault."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# A number sent as JSON may come back rounded (pandas writes 10 significant digits by default): a value at the
# edge of the contract's range stays inside it within this relative margin.
RANGE_TOLERANCE = 1e-9


def widened(low: float, high: float) -> tuple[float, float]:
    """A contract range with the margin that JSON rounding needs."""
    return low - RANGE_TOLERANCE * max(1.0, abs(low)), high + RANGE_TOLERANCE * max(1.0, abs(high))


def listing(names: list[str], shown: int = 5) -> str:
    """The first few names, and how many there are in all: an error stays small whatever the input."""
    head = ", ".join(name[:40] for name in names[:shown])
    return head if len(names) <= shown else f"{head}, ... ({len(names)} in all)"


@dataclass(frozen=True)
class LoadedModel:
    """A registered model version, loaded once, with the input contract of its signature."""

    name: str
    version: str
    alias: str | None
    native: Any
    columns: dict[str, str]
    input_example: pd.DataFrame | None
    # Columns that had missing values in the training data: only these accept them when predicting.
    nullable: frozenset[str] = frozenset()
    # The data contract's rules per feature column: {"min", "max"} for numbers, {"categories"} for text.
    rules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # The scoring payload MLflow saved beside the model (serving_input_example.json): what a server checks a
    # freshly loaded version with before it serves it.
    serving_example: Mapping[str, Any] | None = None

    def prepare(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Check the columns against the signature and coerce their types; raise InputError.

        Infinite values are always refused, and a missing value (null, NaN) is refused in a column that
        had none in training: the model never learnt what it means there. Values outside the data
        contract (a number out of its range, an unknown category) are refused too.
        """
        return self._check_contract(self._check_values(self._coerce(frame)))

    def _coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            raise InputError("the batch has no rows")
        given = [str(name) for name in frame.columns]
        missing = [name for name in self.columns if name not in given]
        if missing:
            raise InputError(f"missing columns: {listing(missing)}", missing[0])
        extra = [name for name in given if name not in self.columns]
        if extra:
            raise InputError(f"unknown columns: {listing(extra)}", extra[0])
        frame = frame[list(self.columns)]
        kinds = set(self.columns.values())
        if len(kinds) == 1:  # the common case: one numpy conversion instead of one per column
            try:
                values = frame.to_numpy(dtype=np.dtype(kinds.pop()))
                return pd.DataFrame(values, columns=list(self.columns))
            except (TypeError, ValueError):
                pass  # find the column at fault below
        converted = {}
        for name, dtype in self.columns.items():
            try:
                converted[name] = frame[name].astype(np.dtype(dtype))
            except (TypeError, ValueError) as error:
                raise InputError(f"column '{name}' expects {dtype} values: {error}", name) from None
        return pd.DataFrame(converted)

    @cached_property
    def _numbers(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The numeric columns in signature order, with the contract's bounds (infinite where none)."""
        names = [name for name, dtype in self.columns.items() if dtype not in ("object", "bool")]
        low = np.full(len(names), -np.inf)
        high = np.full(len(names), np.inf)
        for position, name in enumerate(names):
            rule = self.rules.get(name, {})
            if "min" in rule:
                low[position], high[position] = widened(rule["min"], rule["max"])
        return names, low, high

    def _check_values(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Numbers: finite, present where training had no missing values, inside the contract's range."""
        names, low, high = self._numbers
        numbers = frame if len(names) == frame.shape[1] else frame[names]
        values = numbers.to_numpy(dtype="float64")
        if (np.isfinite(values) & (values >= low) & (values <= high)).all():
            return (
                frame  # the common case, in one vectorised check; any NaN or infinity looks closer
            )
        for position, name in enumerate(names):
            column = values[:, position]
            infinite = np.flatnonzero(np.isinf(column))
            if infinite.size:
                raise InputError(
                    f"column '{name}', row {infinite[0] + 1}: infinite values are refused", name
                )
            missing = np.flatnonzero(np.isnan(column))
            if missing.size and name not in self.nullable:
                raise InputError(
                    f"column '{name}', row {missing[0] + 1}: a missing value, but '{name}' had "
                    "none in training",
                    name,
                )
            outside = np.flatnonzero((column < low[position]) | (column > high[position]))
            if outside.size:
                rule = self.rules[name]
                raise InputError(
                    f"column '{name}', row {outside[0] + 1}: {column[outside[0]]:g} breaks the data "
                    f"contract (between {rule['min']:g} and {rule['max']:g})",
                    name,
                )
        return frame

    def _check_contract(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Text columns: only the contract's categories, missing only where training had missing values."""
        for name, rule in self.rules.items():
            if "categories" not in rule:
                continue
            column = frame[name]
            present = column.notna()
            unknown = present & ~column.astype(str).isin(rule["categories"])
            if unknown.any():
                row = int(np.flatnonzero(unknown.to_numpy())[0])
                raise InputError(
                    f"column '{name}', row {row + 1}: {str(column.iloc[row])[:40]!r} breaks the data "
                    f"contract (one of {listing(list(rule['categories']))})",
                    name,
                )
            if not present.all() and name not in self.nullable:
                row = int(np.flatnonzero(~present.to_numpy())[0])
                raise InputError(
                    f"column '{name}', row {row + 1}: a missing value, but '{name}' had none in training",
                    name,
                )
        return frame

    def _checked(self, frame: pd.DataFrame) -> pd.DataFrame | np.ndarray:
        prepared = self.prepare(frame)
        # prepare() has matched the signature's names and order already: a model loaded without
        # feature names (see load_model) takes the plain matrix and skips a second, slower check.
        return prepared if hasattr(self.native, "feature_names_in_") else prepared.to_numpy()

    def predict(self, frame: pd.DataFrame) -> list[Any]:
        """Predictions for the rows, as JSON-ready Python values."""
        predictions: np.ndarray = self.native.predict(self._checked(frame))
        return predictions.tolist()  # type: ignore[no-any-return]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Class probabilities (classifiers): with `classes_`, the model scores like the pipeline's own."""
        probabilities: np.ndarray = self.native.predict_proba(self._checked(frame))
        return probabilities

    @property
    def classes_(self) -> np.ndarray:
        """The classes of a classifier, in the order of `predict_proba`'s columns."""
        classes: np.ndarray = self.native.classes_
        return classes


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


# Beside an exported model: which registered model and version the folder holds.
EXPORT_RECORD = "registered_model.json"


def export_model(settings: Settings, folder: Path, alias: str = CHAMPION) -> dict[str, str]:
    """Copy the version an alias names (its MLmodel folder, signature, serving example) into `folder`.

    What `make image` puts into the image: a server started with SERVE_MODEL_DIR needs no registry.
    """
    import mlflow

    version = resolve_version(settings, alias, None)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    mlflow.artifacts.download_artifacts(
        f"models:/{settings.model_name}/{version}", dst_path=str(folder)
    )
    record = {"name": settings.model_name, "version": version, "alias": alias}
    (folder / EXPORT_RECORD).write_text(json.dumps(record, indent=2) + "\n")
    return record


def load_exported(folder: Path) -> LoadedModel:
    """Load a model `export_model` wrote, under the name, version and alias it was exported with."""
    try:
        record = json.loads((folder / EXPORT_RECORD).read_text())
    except (OSError, ValueError):
        raise ModelNotFoundError(
            f"{folder} holds no exported model ({EXPORT_RECORD} is missing or unreadable): "
            "export one with `make image`, or unset SERVE_MODEL_DIR"
        ) from None
    return load_model_folder(folder, record["name"], record["version"], record.get("alias"))


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


def read_batches(path: Path, rows_per_chunk: int) -> Iterable[pd.DataFrame]:
    """Read a CSV in chunks, so files larger than memory stream through."""
    if not path.is_file():
        raise InputError(f"{path}: input file not found")
    try:
        yield from pd.read_csv(path, chunksize=rows_per_chunk)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None


def predict_file(
    model: LoadedModel, source: Path, target: Path, rows_per_chunk: int = 50_000
) -> int:
    """Write one `prediction` per input row to a CSV, chunk by chunk; return the row count."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with target.open("w", encoding="utf-8", newline="") as output:
        for chunk in read_batches(source, rows_per_chunk):
            try:
                predictions = model.predict(chunk)
            except InputError as error:
                raise InputError(
                    f"{source}, rows {rows + 1}-{rows + len(chunk)}: {error}", error.field
                ) from None
            pd.DataFrame({"prediction": predictions}).to_csv(output, index=False, header=rows == 0)
            rows += len(chunk)
    return rows
