"""Tests for the server's Prometheus metrics: what is counted, by which labels, and across worker processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.package_name }}.names import PACKAGE
from {{ cookiecutter.package_name }}.serving.metrics import MULTIPROCESS_VARIABLE, Instrumented, Metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def _single_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the multiprocess test, /metrics reports this process's samples only."""
    monkeypatch.delenv(MULTIPROCESS_VARIABLE, raising=False)


def samples(metrics: Metrics) -> Samples:
    """The exposition's samples, by name and labels."""
    text = metrics.exposition().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(found: Samples, name: str, **labels: str) -> float | None:
    """One sample's value, or None when the exposition has no such sample."""
    return found.get((f"{PACKAGE}_{name}", frozenset(labels.items())))


def instrumented(metrics: Metrics, started: list[str]) -> TestClient:
    """A real FastAPI app behind the middleware, with answers naming a version (or none)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        started.append("lifespan")
        yield

    app = FastAPI(lifespan=lifespan)
    app.add_middleware(Instrumented, metrics=metrics)

    @app.post("/invocations")
    async def invocations() -> Response:
        headers = {"X-Model-Version": "4", "X-Model-Alias": "challenger"}
        return JSONResponse({"predictions": [1]}, headers=headers)

    @app.post("/predict")
    async def predict() -> Response:
        headers = {"X-Model-Version": "3", "X-Model-Alias": "champion"}
        return JSONResponse({"error": "rows.0: missing"}, status_code=422, headers=headers)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def broken() -> Response:
        raise RuntimeError("the handler failed")

    return TestClient(app, raise_server_exceptions=False)


def test_requests_are_counted_by_endpoint_status_version_and_alias() -> None:
    """Each request is counted under the version and alias its response names, and timed per version."""
    metrics = Metrics(classifier=True)
    started: list[str] = []
    with instrumented(metrics, started) as client:
        for _ in range(2):
            assert client.post("/invocations").status_code == 200
        assert client.post("/predict").status_code == 422
        assert client.get("/health").status_code == 200

    found = samples(metrics)
    assert started == ["lifespan"], "the middleware passes the lifespan through"
    requests = "requests_total"
    assert (
        sample(
            found, requests, endpoint="/invocations", status="200", version="4", alias="challenger"
        )
        == 2
    )
    assert (
        sample(found, requests, endpoint="/predict", status="422", version="3", alias="champion")
        == 1
    )
    assert sample(found, requests, endpoint="/health", status="200", version="", alias="") == 1
    timed = "request_duration_seconds_count"
    assert sample(found, timed, endpoint="/invocations", version="4") == 2
    assert sample(found, timed, endpoint="/predict", version="3") == 1


def test_a_request_whose_handler_raises_is_counted_as_a_500() -> None:
    """A handler that fails still leaves its request counted, with status 500 and no version."""
    metrics = Metrics(classifier=True)
    client = instrumented(metrics, [])

    assert client.get("/metrics").status_code == 500

    found = samples(metrics)
    assert (
        sample(found, "requests_total", endpoint="/metrics", status="500", version="", alias="")
        == 1
    )
    assert sample(found, "request_duration_seconds_count", endpoint="/metrics", version="") == 1


def test_unknown_paths_are_not_counted_under_their_own_name() -> None:
    """Any other path is counted as `other`: a scanner's paths never become label values."""
    metrics = Metrics(classifier=True)
    client = instrumented(metrics, [])

    for path in ("/admin", "/wp-login.php", "/invocations/extra"):
        assert client.get(path).status_code == 404

    found = samples(metrics)
    assert (
        sample(found, "requests_total", endpoint="other", status="404", version="", alias="") == 3
    )
    endpoints = {dict(labels).get("endpoint") for _, labels in found}
    assert endpoints <= {None, "/invocations", "/predict", "/health", "/metrics", "other"}
    assert (
        sample(found, "requests_total", endpoint="/admin", status="404", version="", alias="")
        is None
    )


def test_a_classifier_counts_rows_and_predicted_classes_per_version() -> None:
    """Rows are counted per version and alias, predictions per class; no value histogram is filled."""
    metrics = Metrics(classifier=True)

    metrics.scored("3", "champion", [0, 1, 1])
    metrics.scored("4", "challenger", ["setosa"])

    found = samples(metrics)
    assert sample(found, "rows_scored_total", version="3", alias="champion") == 3
    assert sample(found, "rows_scored_total", version="4", alias="challenger") == 1
    assert sample(found, "predicted_class_total", version="3", label="1") == 2
    assert sample(found, "predicted_class_total", version="3", label="0") == 1
    assert sample(found, "predicted_class_total", version="4", label="setosa") == 1
    assert sample(found, "predicted_value_count", version="3") is None


def test_a_regressor_puts_predicted_values_in_a_histogram() -> None:
    """A regressor's predictions fill the value histogram (every bucket counts the values up to its edge)."""
    metrics = Metrics(classifier=False)
    predictions = [0.5, 20.0, 20.0, 3000.0]

    metrics.scored("3", "champion", predictions)

    found = samples(metrics)
    assert sample(found, "rows_scored_total", version="3", alias="champion") == 4
    assert sample(found, "predicted_value_count", version="3") == 4
    assert sample(found, "predicted_value_sum", version="3") == pytest.approx(3040.5)
    buckets = {
        float(dict(labels)["le"]): value
        for (name, labels), value in found.items()
        if name == f"{PACKAGE}_predicted_value_bucket"
    }
    assert len(buckets) > 20, "buckets by order of magnitude, whatever the target's unit"
    for edge, count in buckets.items():
        assert count == sum(value <= edge for value in predictions), f"bucket le={edge}"
    assert not any(name == f"{PACKAGE}_predicted_class_total" for name, _ in found)


def test_each_app_counts_in_a_registry_of_its_own() -> None:
    """A second Metrics (a second app in one process) starts from zero."""
    first = Metrics(classifier=True)
    first.scored("3", "champion", [1])

    second = Metrics(classifier=True)

    assert sample(samples(second), "rows_scored_total", version="3", alias="champion") is None
    assert sample(samples(first), "rows_scored_total", version="3", alias="champion") == 1


WORKER = """
from {{ cookiecutter.package_name }}.serving.metrics import Metrics

Metrics(classifier=True).scored("3", "champion", [0, 1, 1])
"""


def test_multiprocess_mode_adds_up_every_workers_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes write their samples to the shared folder; one exposition adds them up."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    environment = {**os.environ, MULTIPROCESS_VARIABLE: str(folder)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER], env=environment) for _ in range(2)]
    assert [worker.wait(timeout=60) for worker in workers] == [0, 0]
    assert len(list(folder.glob("counter_*.db"))) == 2, "one samples file per worker"
    monkeypatch.setenv(MULTIPROCESS_VARIABLE, str(folder))

    found = samples(Metrics(classifier=True))

    assert sample(found, "rows_scored_total", version="3", alias="champion") == 6
    assert sample(found, "predicted_class_total", version="3", label="1") == 4
    assert sample(found, "predicted_class_total", version="3", label="0") == 2
