"""Tests for the HTTP app: MLflow's payloads, the typed endpoint, and 4xx on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.schema import CHUNK_ROWS, row_model
from {{ cookiecutter.package_name }}.settings import Settings


@pytest.fixture
def client(settings: Settings, loaded_model: LoadedModel) -> TestClient:
    """A client of the app around the small test model."""
    return TestClient(create_app(settings, loaded_model))


@pytest.fixture
def example(loaded_model: LoadedModel) -> Any:
    """The model's input example as `split` JSON, and its expected predictions."""
    assert loaded_model.input_example is not None
    frame = loaded_model.input_example
    return json.loads(frame.to_json(orient="split", index=False)), loaded_model.predict(frame)


def test_health_names_the_model(client: TestClient) -> None:
    """/health reports the model, version and alias served."""
    body = client.get("/health").json()
    assert (body["model"], body["version"], body["alias"]) == ("iris", "3", "champion")
    assert body["uptime_seconds"] >= 0


def test_every_mlflow_payload_format(client: TestClient, example: Any) -> None:
    """dataframe_split, dataframe_records, instances and inputs all give the same predictions."""
    split, expected = example
    records = [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
    columns = {name: [row[i] for row in split["data"]] for i, name in enumerate(split["columns"])}
    for payload in (
        {"dataframe_split": split},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": columns},
        {"inputs": split["data"]},
    ):
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, (payload, response.text)
        assert response.json() == {"predictions": expected}


def test_csv_body(client: TestClient, loaded_model: LoadedModel, example: Any) -> None:
    """A CSV body with a header is scored too."""
    assert loaded_model.input_example is not None
    body = loaded_model.input_example.to_csv(index=False)
    response = client.post("/invocations", content=body, headers={"Content-Type": "text/csv"})
    assert response.json() == {"predictions": example[1]}


def test_typed_predict_endpoint(client: TestClient, example: Any) -> None:
    """/predict takes typed rows and the schema in /docs has the real field names."""
    split, expected = example
    records = [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
    response = client.post("/predict", json={"rows": records})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Row"]
    assert set(schema["properties"]) == set(split["columns"])


def test_the_typed_rows_carry_the_data_contract(
    settings: Settings, loaded_model: LoadedModel, example: Any
) -> None:
    """/docs shows a column's range and whether it may be null; /predict refuses what breaks them."""
    split, _ = example
    first, second = split["columns"][:2]
    contracted = replace(
        loaded_model, rules={first: {"min": 0.0, "max": 10.0}}, nullable=frozenset({second})
    )
    client = TestClient(create_app(settings, contracted))
    schema = client.get("/openapi.json").json()["components"]["schemas"]["Row"]["properties"]
    bounds = (schema[first]["minimum"], schema[first]["maximum"])
    assert bounds == pytest.approx((0.0, 10.0), abs=1e-6), "the range, with JSON rounding's margin"
    assert {"type": "null"} in schema[second]["anyOf"]
    record = dict(zip(split["columns"], split["data"][0], strict=True))
    assert client.post("/predict", json={"rows": [{**record, second: None}]}).status_code == 200
    refused = client.post("/predict", json={"rows": [{**record, first: 11.0}]})
    assert refused.status_code == 422
    assert first in refused.text


def test_a_whole_number_column_keeps_whole_bounds(loaded_model: LoadedModel) -> None:
    """An integer column's range stays integral (pydantic refuses fractional bounds on an int field)."""
    first = next(iter(loaded_model.columns))
    counted = replace(
        loaded_model,
        columns={**loaded_model.columns, first: "int64"},
        rules={first: {"min": 1, "max": 72}},
    )

    schema = row_model(counted).model_json_schema()["properties"][first]

    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 1, 72)


def as_json(payload: Any) -> bytes:
    """A JSON request body."""
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (
            as_json({"dataframe_split": {"columns": ["sepal_length"], "data": [[1.0]]}}),
            400,
            "missing",
        ),
        (as_json({"dataframe_records": [{"sepal_length": 1, "x": 2}]}), 400, "petal_length"),
        (as_json({"dataframe_records": []}), 400, "no rows"),
        (as_json({"instances": [1, 2]}), 400, "objects or all be lists"),
        (as_json({"inputs": {"a": [1], "b": [1, 2]}}), 400, "equal length"),
        (as_json({"dataframe_split": {"data": 1}}), 400, "dataframe_split"),
        (as_json({"dataframe_records": [], "instances": []}), 400, "exactly one"),
    ],
)
def test_bad_payloads_get_4xx_naming_the_problem(
    client: TestClient, body: bytes, status: int, needle: str
) -> None:
    """Malformed or mismatched payloads are client errors with a message, never a 500."""
    response = client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]


def test_wrong_type_names_the_field(client: TestClient, example: Any) -> None:
    """A string where a number belongs is a 400 naming the column."""
    split, _ = example
    records = [dict(zip(split["columns"], row, strict=True)) for row in split["data"]]
    records[0]["petal_width"] = "wide"
    response = client.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 400
    assert response.json()["field"] == "petal_width"
    typed = client.post("/predict", json={"rows": records})
    assert typed.status_code == 422
    assert typed.json()["field"] == "petal_width"
    assert typed.json()["error"].startswith("rows.0.petal_width: ")
    assert "wide" not in typed.text, "the offending value is never sent back"


def test_oversize_body_is_413(settings: Settings, loaded_model: LoadedModel) -> None:
    """A body over the limit is refused with 413 before it is parsed."""
    small = settings.model_copy(update={"serve_max_body_bytes": 1000})
    client = TestClient(create_app(small, loaded_model))
    response = client.post(
        "/invocations", content=b"x" * 2000, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413


def chunks(body: bytes, size: int = 4096) -> Iterator[bytes]:
    """The body as a stream: the client sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


@pytest.mark.parametrize("path", ["/invocations", "/predict"])
def test_chunked_bodies_meet_the_size_limit_too(
    settings: Settings, loaded_model: LoadedModel, path: str
) -> None:
    """Without a Content-Length the limit holds while the body arrives, on both routes."""
    small = settings.model_copy(update={"serve_max_body_bytes": 1000})
    client = TestClient(create_app(small, loaded_model))
    body = as_json({"rows": [{"sepal_length": 1.0}] * 500})
    response = client.post(path, content=chunks(body), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers, "the test must send a chunked body"
    assert response.status_code == 413
    assert response.json()["error"] == "body larger than 1000 bytes"


def test_deep_nesting_is_a_client_error(client: TestClient) -> None:
    """JSON nested far past any payload's depth is a 400, not a crash."""
    body = b"[" * 100_000 + b"]" * 100_000
    response = client.post(
        "/invocations", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["error"]


def test_errors_stay_small_and_never_echo_the_input(client: TestClient, example: Any) -> None:
    """A huge bad column name gets a short error, not its own text back."""
    split, _ = example
    name = "x" * 50_000
    payload = {
        "dataframe_split": {"columns": [*split["columns"], name], "data": [[*split["data"][0], 1]]}
    }
    response = client.post("/invocations", json=payload)
    assert response.status_code == 400
    assert len(response.content) < 1000, "a small request never gets a large error back"


def test_missing_and_infinite_values_are_refused_by_column(
    client: TestClient, example: Any
) -> None:
    """Null in a column that never had one in training, or an infinity, is a 400 naming column and row."""
    split, _ = example
    rows = [list(row) for row in split["data"]]
    rows[1][2] = None
    response = client.post("/invocations", json={"dataframe_split": {**split, "data": rows}})
    assert response.status_code == 400
    column = split["columns"][2]
    assert response.json()["field"] == column
    assert f"column '{column}', row 2: a missing value" in response.json()["error"]


def test_a_large_bad_request_is_refused_at_its_first_bad_chunk(
    client: TestClient, example: Any
) -> None:
    """10,000 empty rows are refused after the first chunk's problems, not all 40,000, naming the row."""
    split, _ = example
    columns = len(split["columns"])
    refused = client.post("/predict", json={"rows": [{}] * 10_000})
    assert refused.status_code == 422
    more = CHUNK_ROWS * columns - 1
    assert refused.json()["error"].endswith(f": Field required (and at least {more} more problems)")

    records = [dict(zip(split["columns"], split["data"][0], strict=True))] * 300
    records = [*records[:250], {**records[0], split["columns"][0]: "wide"}, *records[251:]]
    later = client.post("/predict", json={"rows": records})
    assert later.status_code == 422
    assert later.json()["error"].startswith(f"rows.250.{split['columns'][0]}: ")
