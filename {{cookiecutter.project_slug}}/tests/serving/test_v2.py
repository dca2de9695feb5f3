"""Tests for the Open Inference Protocol (KServe v2) routes: health, metadata, infer and their refusals."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from typing import Any

from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.errors import MESSAGE_LIMIT
from {{ cookiecutter.package_name }}.serving.plan import Plan
from {{ cookiecutter.package_name }}.serving.routing import Routes
from {{ cookiecutter.package_name }}.settings import Settings


def tensors(model: LoadedModel, count: int = 3) -> dict[str, Any]:
    """An inference request of the model's first example rows: one FP64 tensor per column."""
    assert model.input_example is not None
    frame = model.input_example.head(count)
    inputs = [
        {"name": name, "shape": [count], "datatype": "FP64", "data": frame[name].tolist()}
        for name in frame.columns
    ]
    return {"id": "42", "inputs": inputs}


def ready(client: TestClient) -> TestClient:
    """The client, once its server says it is ready (the check runs beside the server)."""
    deadline = time.monotonic() + 10
    while client.get("/v2/health/ready").status_code != 200:
        assert time.monotonic() < deadline, client.get("/v2/health/ready").json()
        time.sleep(0.02)
    return client


def test_live_at_once_ready_once_the_serving_example_answered(
    settings: Settings, served: LoadedModel
) -> None:
    """Live while it answers; ready only after the model's serving example is checked."""
    unchecked = TestClient(create_app(settings, served))  # no lifespan: nothing checked the model
    assert unchecked.get("/v2/health/live").json() == {"live": True}
    answer = unchecked.get("/v2/health/ready")
    assert (answer.status_code, answer.json()["ready"]) == (503, False)
    assert unchecked.get("/v2/models/iris/ready").status_code == 503
    assert unchecked.get("/health").json()["status"] == "ok", "/health keeps its meaning"
    with TestClient(create_app(settings, served)) as client:
        assert ready(client).get("/v2/models/iris/ready").json() == {"name": "iris", "ready": True}
        assert client.get("/v2/models/iris/versions/3/ready").status_code == 200


def test_a_model_whose_example_fails_is_live_but_never_ready(
    settings: Settings, served: LoadedModel
) -> None:
    """No serving example to check: the readiness probe says why, the liveness probe passes."""
    with TestClient(create_app(settings, replace(served, serving_example=None))) as client:
        time.sleep(0.3)
        answer = client.get("/v2/health/ready")
        assert answer.status_code == 503
        assert "no serving example" in answer.json()["error"]
        assert client.get("/v2/health/live").status_code == 200


def test_the_server_stays_ready_while_it_swaps_model(
    settings: Settings, served: LoadedModel
) -> None:
    """While a plan's version loads and is checked, the probes keep saying ready; then v2 names it."""
    app = create_app(settings, routes=Routes(served))
    during: list[int] = []
    with TestClient(app) as client:
        ready(client)

        def loader(version: str) -> LoadedModel:
            during.append(client.get("/v2/health/ready").status_code)
            return replace(served, version=version)

        app.state.router.load = loader
        asyncio.run(app.state.router.apply(Plan(1, "4")))
        assert during == [200]
        assert client.get("/v2/health/ready").status_code == 200
        assert client.get("/v2/models/iris").json()["versions"] == ["4"]
        assert client.get("/v2/models/iris/versions/3").status_code == 404


def test_metadata_names_every_input_and_the_output(settings: Settings, served: LoadedModel) -> None:
    """One input per signature column, its datatype and a variable row count; the output's datatype."""
    client = TestClient(create_app(settings, served))
    assert client.get("/v2").json()["extensions"] == []
    for path in ("/v2/models/iris", "/v2/models/iris/versions/3"):
        body = client.get(path).json()
        assert (body["name"], body["versions"], body["platform"]) == ("iris", ["3"], "sklearn")
        assert [item["name"] for item in body["inputs"]] == list(served.columns)
        assert {(item["datatype"], tuple(item["shape"])) for item in body["inputs"]} == {
            ("FP64", (-1,))
        }
        assert body["outputs"] == [{"name": "predict", "datatype": "INT64", "shape": [-1]}]


def test_infer_answers_what_invocations_answers(settings: Settings, served: LoadedModel) -> None:
    """The same rows as tensors (flat or [rows, 1], any number type) give /invocations' predictions."""
    client = TestClient(create_app(settings, served))
    assert served.input_example is not None
    split = json.loads(served.input_example.head(3).to_json(orient="split", index=False))
    expected = client.post("/invocations", json={"dataframe_split": split}).json()["predictions"]
    request = tensors(served)
    nested = json.loads(json.dumps(request))
    for tensor in nested["inputs"]:
        tensor.update(shape=[3, 1], datatype="FP32", data=[[value] for value in tensor["data"]])
    for body, path in (
        (request, "/v2/models/iris/infer"),
        (nested, "/v2/models/iris/versions/3/infer"),
    ):
        answer = client.post(path, json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-model-version"] == "3"
        assert answer.json() == {
            "model_name": "iris",
            "model_version": "3",
            "id": "42",
            "outputs": [{"name": "predict", "shape": [3], "datatype": "INT64", "data": expected}],
        }
    requested = {**request, "outputs": [{"name": "predict"}]}
    assert client.post("/v2/models/iris/infer", json=requested).status_code == 200


def changed(request: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The request with the first input's fields replaced."""
    copy: dict[str, Any] = json.loads(json.dumps(request))
    copy["inputs"][0].update(fields)
    return copy


def test_bad_tensors_are_refused_in_one_line_naming_the_input(
    settings: Settings, served: LoadedModel
) -> None:
    """Datatypes, shapes, names and outputs the model does not take: a 400 with the protocol's error."""
    client = TestClient(create_app(settings, served))
    request = tensors(served)
    first = request["inputs"][0]["name"]
    extra = {**request, "inputs": [*request["inputs"], {**request["inputs"][0], "name": "colour"}]}
    cases = {
        "unknown datatype 'FLOAT'": changed(request, datatype="FLOAT"),
        f"input '{first}' takes FP64 tensors, not BYTES": changed(request, datatype="BYTES"),
        f"input '{first}': shape [3] needs 3 values, the data has 2": changed(request, data=[1, 2]),
        "a column's shape is [rows] or [rows, 1]": changed(request, shape=[1, 3]),
        "the data are not all FP64 values": changed(request, data=["a", "b", "c"]),
        "different numbers of rows": changed(request, shape=[2], data=[1.0, 2.0]),
        "unknown columns: colour": extra,
        f"missing columns: {first}": changed(request, name="colour"),
        "unknown outputs: predict_proba": {**request, "outputs": [{"name": "predict_proba"}]},
        "inputs: List should have at least 1 item": {"inputs": []},
        "Invalid JSON": "{",
    }
    for expected, body in cases.items():
        content = body if isinstance(body, str) else json.dumps(body)
        answer = client.post("/v2/models/iris/infer", content=content)
        assert answer.status_code == 400, (expected, answer.text)
        assert list(answer.json()) == ["error"], answer.json()
        assert expected in answer.json()["error"], (expected, answer.json())
    contract = changed(request, data=[float("1e300")] * 3)
    assert client.post("/v2/models/iris/infer", json=contract).status_code == 200


def test_refusals_never_echo_the_input_and_stay_small(
    settings: Settings, served: LoadedModel
) -> None:
    """A long value in a bad tensor is not repeated; the message is capped whatever was sent."""
    client = TestClient(create_app(settings, served))
    secret = "patient-" + "x" * 2000
    for body in (
        changed(tensors(served), data=[secret] * 3),
        changed(tensors(served), datatype=secret),
        {**tensors(served), "outputs": [{"name": secret}]},
        {"inputs": [{"name": secret, "shape": [1], "datatype": "FP64", "data": secret}]},
    ):
        answer = client.post("/v2/models/iris/infer", json=body)
        assert answer.status_code == 400
        assert "patient-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" not in answer.text
        assert len(answer.json()["error"]) <= MESSAGE_LIMIT


def test_another_model_or_version_and_the_limits_are_refused(
    settings: Settings, served: LoadedModel
) -> None:
    """Another model name or version: 404; past the row or body limit, or binary tensors: refused."""
    limited = settings.model_copy(update={"serve_max_rows": 2, "serve_max_body_bytes": 2_000})
    client = TestClient(create_app(limited, served))
    small = tensors(served, 2)
    for path in ("/v2/models/other/infer", "/v2/models/iris/versions/9/infer"):
        answer = client.post(path, json=small)
        assert (answer.status_code, list(answer.json())) == (404, ["error"])
    assert "versions 3" in client.get("/v2/models/iris/versions/9").json()["error"]
    assert client.get("/v2/models/other/ready").status_code == 404
    assert client.post("/v2/models/iris/infer", json=small).status_code == 200
    answer = client.post("/v2/models/iris/infer", json=tensors(served, 3))
    assert (answer.status_code, answer.json()["error"]) == (413, "more than 2 rows")
    huge = changed(small, data=[1.0] * 2_000, shape=[2_000])
    assert client.post("/v2/models/iris/infer", json=huge).status_code == 413
    binary = client.post(
        "/v2/models/iris/infer", content=b"{}", headers={"Inference-Header-Content-Length": "2"}
    )
    assert binary.status_code == 400
    assert "binary_data=False" in binary.json()["error"]


def test_a_version_pins_the_canary_and_metrics_count_v2_by_route(
    settings: Settings, served: LoadedModel
) -> None:
    """During a canary both versions answer by number; /metrics counts v2 requests by route template."""
    routes = Routes(served, replace(served, version="4"), percent=50)
    client = TestClient(create_app(settings, routes=routes))
    assert client.get("/v2/models/iris").json()["versions"] == ["3", "4"]
    for version, alias in (("3", "champion"), ("4", "challenger")):
        answer = client.post(f"/v2/models/iris/versions/{version}/infer", json=tensors(served))
        assert answer.json()["model_version"] == version
        assert answer.headers["x-model-alias"] == alias
    exposition = client.get("/metrics").text
    assert 'endpoint="/v2/models/{name}/versions/{version}/infer",status="200",version="4"' in (
        exposition
    )
    client.get("/v2/models/whatever-a-client-sends")
    assert "whatever-a-client-sends" not in client.get("/metrics").text
