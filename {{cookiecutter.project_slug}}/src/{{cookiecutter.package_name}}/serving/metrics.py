"""Prometheus metrics of the model server: requests, errors, latency, rows and predictions, per model version.

Under `make deploy` the server runs with PROMETHEUS_MULTIPROC_DIR set (prometheus-client's multiprocess
mode): each worker writes its samples to files there, and /metrics adds up every worker's, whichever worker
answers the scrape.
"""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Sequence
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..names import PACKAGE

ENDPOINTS = frozenset({"/invocations", "/predict", "/health", "/metrics"})
# The Open Inference Protocol's routes (v2_routes), counted by their template: the model name and version in
# a path are the client's to choose, and would make a label with no bound.
V2_ENDPOINTS = frozenset(
    f"{model}{action}"
    for model in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}")
    for action in ("", "/ready", "/infer")
) | {"/v2", "/v2/health/live", "/v2/health/ready"}
MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Predicted values of a regressor, by order of magnitude: the distribution's shape, whatever the target's unit.
VALUE_BUCKETS = tuple(float(edge) for edge in np.geomspace(0.001, 1e6, 28))
__all__ = ["CONTENT_TYPE", "Metrics"]


class Metrics:
    """The server's metrics, in a registry of their own (one per app)."""

    def __init__(self, classifier: bool) -> None:
        self.registry = CollectorRegistry()
        self.classifier = classifier
        prefix = PACKAGE
        self.requests = Counter(
            f"{prefix}_requests",
            "HTTP requests by endpoint, status and the model version that answered",
            ["endpoint", "status", "version", "alias"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{prefix}_request_duration_seconds",
            "Time from request to response, by endpoint and model version",
            ["endpoint", "version"],
            registry=self.registry,
        )
        self.rows = Counter(
            f"{prefix}_rows_scored",
            "Rows scored, by model version",
            ["version", "alias"],
            registry=self.registry,
        )
        self.classes = Counter(
            f"{prefix}_predicted_class",
            "Predictions by class and model version (classifiers)",
            ["version", "label"],
            registry=self.registry,
        )
        self.values = Histogram(
            f"{prefix}_predicted_value",
            "Predicted values by model version (regressors)",
            ["version"],
            buckets=VALUE_BUCKETS,
            registry=self.registry,
        )

    def scored(self, version: str, alias: str, predictions: Sequence[Any]) -> None:
        """Count a batch's rows and what was predicted."""
        self.rows.labels(version, alias).inc(len(predictions))
        if self.classifier:
            for label, count in Tally(str(value) for value in predictions).items():
                self.classes.labels(version, label).inc(count)
        else:
            observe = self.values.labels(version).observe
            for value in predictions:
                observe(float(value))

    def exposition(self) -> bytes:
        """The text format of every worker's metrics (or of this process's, outside multiprocess mode)."""
        if os.environ.get(MULTIPROCESS_VARIABLE):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)


class Instrumented:
    """ASGI middleware: count and time each request, with the version its response names."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, reading the status and model headers of its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, str] = {"status": "500", "version": "", "alias": ""}

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = str(message["status"])
                for key, value in message.get("headers", ()):
                    if key == b"x-model-version":
                        seen["version"] = value.decode()
                    elif key == b"x-model-alias":
                        seen["alias"] = value.decode()
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            endpoint = endpoint_of(scope)
            self.metrics.requests.labels(
                endpoint, seen["status"], seen["version"], seen["alias"]
            ).inc()
            self.metrics.latency.labels(endpoint, seen["version"]).observe(
                time.perf_counter() - started
            )


def endpoint_of(scope: Scope) -> str:
    """A request's endpoint label: its path, or its route's template (v2), or "other" for an unknown path."""
    path = scope.get("path", "")
    if path in ENDPOINTS:
        return str(path)
    template = getattr(scope.get("route"), "path", None)
    return template if template in V2_ENDPOINTS else "other"
