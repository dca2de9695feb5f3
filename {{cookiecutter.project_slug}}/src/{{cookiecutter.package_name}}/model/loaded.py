"""A loaded model version and the checks its inputs pass before it predicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ProjectError

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


class InputError(ProjectError, ValueError):
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
        """Rows with exactly the signature's columns, in its order, converted to its types."""
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
        # The common case, in one vectorised check; any NaN or infinity looks closer, column by column.
        if (np.isfinite(values) & (values >= low) & (values <= high)).all():
            return frame
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
        """The prepared rows, in the form the native model takes."""
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
