"""The Open Inference Protocol (KServe v2) over REST: its JSON objects, and tensors to and from rows.

Tabular convention (KServe's and MLServer's pandas codec): one input tensor per column, named after it,
of shape [rows] or [rows, 1]; the predictions come back as one output tensor, `predict`, of shape [rows].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..model.loaded import InputError, LoadedModel, listing
from .errors import TooManyRowsError, describe_invalid

OUTPUT = "predict"  # the name MLServer's scikit-learn runtime gives the predictions
PLATFORM = "sklearn"
# The signature's dtypes (model.loaded.DTYPES) as the protocol's tensor datatypes.
DATATYPES = {
    "float64": "FP64",
    "float32": "FP32",
    "int64": "INT64",
    "int32": "INT32",
    "bool": "BOOL",
    "object": "BYTES",
}
INTEGERS = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
FLOATS = frozenset({"FP16", "FP32", "FP64"})
KNOWN = INTEGERS | FLOATS | {"BOOL", "BYTES"}
# Which tensor datatypes a column of each signature datatype takes: any number for a number column (the
# values are then checked against the signature and the data contract, as for /invocations).
ACCEPTED = {
    "FP64": INTEGERS | FLOATS,
    "FP32": INTEGERS | FLOATS,
    "INT64": INTEGERS,
    "INT32": INTEGERS,
    "BOOL": frozenset({"BOOL"}),
    "BYTES": frozenset({"BYTES"}),
}
# Element kinds (numpy's dtype.kind of the JSON values) each tensor datatype may hold.
KINDS = {**dict.fromkeys(INTEGERS, "iu"), **dict.fromkeys(FLOATS, "iuf"), "BOOL": "b", "BYTES": "U"}
Parameters = dict[str, str | int | float | bool]


class RequestInput(BaseModel):
    """$request_input: one named tensor, its shape, datatype and (row-major, maybe nested) data."""

    model_config = ConfigDict(extra="forbid")
    name: str
    shape: list[int] = Field(min_length=1, max_length=2)
    datatype: str
    parameters: Parameters | None = None
    data: list[Any]


class RequestOutput(BaseModel):
    """$request_output: an output the client asks for."""

    name: str
    parameters: Parameters | None = None


class InferenceRequest(BaseModel):
    """$inference_request."""

    id: str | None = None
    parameters: Parameters | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


def parse_request(body: bytes) -> InferenceRequest:
    """The inference request in a body; InputError naming the first problem, never echoing values."""
    try:
        return InferenceRequest.model_validate_json(body)
    except ValidationError as problem:
        message, field = describe_invalid(problem.errors(include_input=False))
        raise InputError(message, field) from None


def datatype_of(dtype: np.dtype[Any]) -> str:
    """The tensor datatype of a numpy dtype (text is BYTES)."""
    if dtype.kind == "b":
        return "BOOL"
    if dtype.kind in "iu":
        return f"{'U' if dtype.kind == 'u' else ''}INT{dtype.itemsize * 8}"
    if dtype.kind == "f":
        return f"FP{dtype.itemsize * 8}"
    return "BYTES"


def output_datatype(model: LoadedModel) -> str:
    """The predictions' datatype: a classifier's class labels, else (a regressor) FP64."""
    classes = getattr(model.native, "classes_", None)
    return "FP64" if classes is None else datatype_of(np.asarray(classes).dtype)


def metadata(model: LoadedModel, versions: list[str]) -> dict[str, Any]:
    """$metadata_model_response: one input per signature column, the one output."""
    return {
        "name": model.name,
        "versions": versions,
        "platform": PLATFORM,
        "inputs": [
            {"name": name, "datatype": DATATYPES[dtype], "shape": [-1]}
            for name, dtype in model.columns.items()
        ],
        "outputs": [{"name": OUTPUT, "datatype": output_datatype(model), "shape": [-1]}],
    }


def column(tensor: RequestInput, expected: str | None) -> np.ndarray:
    """One input tensor as a column of values, checked against its shape and datatype."""
    name = tensor.name
    if tensor.datatype not in KNOWN:
        raise InputError(f"input '{name}': unknown datatype {tensor.datatype[:20]!r}", name)
    if expected is not None and tensor.datatype not in ACCEPTED[expected]:
        raise InputError(f"input '{name}' takes {expected} tensors, not {tensor.datatype}", name)
    try:
        values = np.asarray(tensor.data).reshape(-1)
    except ValueError:
        raise InputError(f"input '{name}': the data is not a regular array", name) from None
    if values.size != tensor.shape[0]:
        raise InputError(
            f"input '{name}': shape {tensor.shape} needs {tensor.shape[0]} values, "
            f"the data has {values.size}",
            name,
        )
    if values.dtype.kind == "O" and tensor.datatype in FLOATS:
        values = with_missing(values)
    if values.size and values.dtype.kind not in KINDS[tensor.datatype]:
        raise InputError(f"input '{name}': the data are not all {tensor.datatype} values", name)
    return values


def rows_of(tensor: RequestInput) -> int:
    """The rows a column tensor holds, by its shape: [rows] or [rows, 1]."""
    if any(size < 0 for size in tensor.shape) or tensor.shape[1:] not in ([], [1]):
        raise InputError(
            f"input '{tensor.name}': a column's shape is [rows] or [rows, 1]", tensor.name
        )
    return tensor.shape[0]


def with_missing(values: np.ndarray) -> np.ndarray:
    """Numbers with nulls (JSON has no NaN) as floats with missing values; anything else is left as it is."""
    if all(value is None or type(value) in (int, float) for value in values):
        return np.array([np.nan if value is None else value for value in values], dtype="float64")
    return values


def frame_of(request: InferenceRequest, model: LoadedModel, max_rows: int) -> pd.DataFrame:
    """The rows of an inference request: one column per input tensor, all of the same length.

    Missing, unknown and ill-typed columns and values are refused by the model's own checks when it
    predicts (LoadedModel.prepare), as for /invocations.
    """
    names = [tensor.name for tensor in request.inputs]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InputError(f"inputs given more than once: {listing(repeated)}", repeated[0])
    rows = {rows_of(tensor) for tensor in request.inputs}
    if len(rows) > 1:
        raise InputError(f"the inputs have different numbers of rows: {sorted(rows)[:5]}")
    if rows.pop() > max_rows:
        raise TooManyRowsError(max_rows)
    wanted = {output.name for output in request.outputs or []} - {OUTPUT}
    if wanted:
        raise InputError(f"unknown outputs: {listing(sorted(wanted))} (this model has '{OUTPUT}')")
    expected = {name: DATATYPES[dtype] for name, dtype in model.columns.items()}
    return pd.DataFrame(
        {tensor.name: column(tensor, expected.get(tensor.name)) for tensor in request.inputs}
    )


def response(model: LoadedModel, predictions: list[Any], request_id: str | None) -> dict[str, Any]:
    """$inference_response: the predictions as the one output tensor."""
    values = np.asarray(predictions)
    answer: dict[str, Any] = {
        "model_name": model.name,
        "model_version": model.version,
        "outputs": [
            {
                "name": OUTPUT,
                "shape": [len(predictions)],
                "datatype": datatype_of(values.dtype),
                "data": predictions,
            }
        ],
    }
    if request_id is not None:
        answer["id"] = request_id
    return answer
