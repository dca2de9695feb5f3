"""The typed rows of /predict: a pydantic model of the champion's signature and data contract (shown in /docs)."""

from __future__ import annotations

from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..model.loaded import LoadedModel, widened

PYTHON_TYPES: dict[str, type] = {
    "float64": float,
    "float32": float,
    "int64": int,
    "int32": int,
    "bool": bool,
    "object": str,
}


def row_model(model: LoadedModel) -> type[BaseModel]:
    """A pydantic model of one input row: the signature's columns and types, and the data contract.

    A text column with categories takes only those (an enum in /docs), a number its range; a column that had
    missing values in training accepts null.
    """
    fields: dict[str, Any] = {}
    for name, dtype in model.columns.items():
        rule = model.rules.get(name, {})
        kind: Any = PYTHON_TYPES[dtype]
        if "categories" in rule:
            kind = cast(Any, Literal)[tuple(rule["categories"])]
        if name in model.nullable:
            kind = kind | None
        low, high = (rule.get("min"), rule.get("max"))  # whole numbers travel through JSON exactly
        if "min" in rule and PYTHON_TYPES[dtype] is float:
            low, high = widened(rule["min"], rule["max"])
        fields[name] = (kind, Field(..., ge=low, le=high))
    return create_model("Row", __config__=ConfigDict(extra="forbid", strict=False), **fields)


def request_model(model: LoadedModel, max_rows: int) -> type[BaseModel]:
    """The body of /predict: between 1 and `max_rows` typed rows of `model`."""
    row = row_model(model)
    return create_model(
        "PredictRequest",
        rows=(list[row], Field(min_length=1, max_length=max_rows)),  # type: ignore[valid-type]
    )


def contract(model: LoadedModel) -> Any:
    """What the typed rows are built from: a champion with the same contract keeps the same route."""
    return (model.columns, model.rules, model.nullable)
