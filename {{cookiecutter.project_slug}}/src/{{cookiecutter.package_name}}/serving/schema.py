"""The typed rows of /predict: a pydantic model of the champion's signature and data contract (shown in /docs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    create_model,
)

from ..model.loaded import LoadedModel, widened

CHUNK_ROWS = 100  # typed rows validated together (see `chunked`)
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
    """The body of /predict: between 1 and `max_rows` typed rows of `model`, checked a chunk at a time."""
    row = row_model(model)
    rows = Annotated[list[row], WrapValidator(chunked(max_rows))]  # type: ignore[valid-type]
    return create_model("PredictRequest", rows=(rows, Field(min_length=1, max_length=max_rows)))


def chunked(max_rows: int) -> Callable[[Any, ValidatorFunctionWrapHandler], Any]:
    """A validator of the rows that stops at the first chunk with a problem.

    pydantic checks every row of a list and builds every error: 10,000 empty rows cost 300,000 errors and
    seconds of CPU for a 30 KB request. A chunk of CHUNK_ROWS rows at a time, stopping at the first bad one,
    keeps a bad request about as cheap as a good one, and its errors name the right rows.
    """

    def validate(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if not isinstance(value, list) or not 1 <= len(value) <= max_rows:
            return handler(value)  # the type or the length is wrong: pydantic says so at once
        checked: list[Any] = []
        for start in range(0, len(value), CHUNK_ROWS):
            try:
                checked.extend(handler(value[start : start + CHUNK_ROWS]))
            except ValidationError as error:
                raise ValidationError.from_exception_data("rows", shifted(error, start)) from None
        return checked

    return validate


def shifted(error: ValidationError, start: int) -> list[Any]:
    """A chunk's errors, as line errors whose row numbers count from the start of the whole list."""
    lines = []
    for problem in error.errors():
        index, *rest = problem["loc"]
        line = {
            "type": problem["type"],
            "loc": (int(index) + start, *rest),
            "input": problem["input"],
        }
        if "ctx" in problem:
            line["ctx"] = problem["ctx"]
        lines.append(line)
    return lines


def contract(model: LoadedModel) -> Any:
    """What the typed rows are built from: a champion with the same contract keeps the same route."""
    return (model.columns, model.rules, model.nullable)
