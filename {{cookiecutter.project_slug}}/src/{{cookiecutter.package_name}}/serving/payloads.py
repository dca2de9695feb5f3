"""Parse MLflow scoring payloads (dataframe_split, dataframe_records, instances, inputs) into a DataFrame."""

from __future__ import annotations

import io
import json
from typing import Any

import pandas as pd

from ..model.loaded import InputError

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")


def _records(rows: Any, field: str, columns: list[str]) -> pd.DataFrame:
    if not isinstance(rows, list):
        raise InputError(f"'{field}' must be a list of rows", field)
    if all(isinstance(row, dict) for row in rows):
        return pd.DataFrame.from_records(rows)
    if all(isinstance(row, list) for row in rows):
        if any(len(row) != len(columns) for row in rows):
            raise InputError(f"'{field}': each row needs {len(columns)} values", field)
        return pd.DataFrame(rows, columns=columns)
    raise InputError(f"'{field}' rows must all be objects or all be lists", field)


def frame_from_json(payload: Any, columns: list[str]) -> pd.DataFrame:
    """The rows of a parsed JSON scoring payload; `columns` orders rows given as plain lists."""
    if not isinstance(payload, dict):
        raise InputError(f"the body must be a JSON object with one of: {', '.join(FORMATS)}")
    given = [key for key in FORMATS if key in payload]
    if len(given) != 1:
        raise InputError(f"the body must have exactly one of: {', '.join(FORMATS)}")
    field = given[0]
    data = payload[field]
    if field == "dataframe_split":
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise InputError("'dataframe_split' needs 'columns' and 'data' lists", field)
        split_columns = data.get("columns", columns)
        rows = data["data"]
        if any(not isinstance(row, list) or len(row) != len(split_columns) for row in rows):
            raise InputError(
                f"'dataframe_split.data': each row needs {len(split_columns)} values", field
            )
        return pd.DataFrame(rows, columns=split_columns)
    if field == "inputs" and isinstance(data, dict):
        try:
            return pd.DataFrame(data)
        except ValueError as error:
            raise InputError(
                f"'inputs' columns must be lists of equal length: {error}", field
            ) from None
    return _records(data, field, columns)


def frame_from_body(body: bytes, content_type: str, columns: list[str]) -> pd.DataFrame:
    """The rows of a raw request body: JSON (MLflow's formats) or CSV with a header."""
    if content_type.startswith("text/csv"):
        try:
            return pd.read_csv(io.BytesIO(body))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
            raise InputError(f"malformed CSV: {error}") from None
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"malformed JSON: {error}") from None
    except RecursionError:  # deeply nested arrays or objects
        raise InputError("malformed JSON: nested too deeply") from None
    return frame_from_json(payload, columns)
