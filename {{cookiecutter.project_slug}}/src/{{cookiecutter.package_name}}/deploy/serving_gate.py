"""The serving gate CI runs after `make deploy`: the API's contract, fuzzed from its own schema, and its latency.

The contract is checked by schemathesis (the optional Poetry group `contract`) from the running server's
OpenAPI schema, seeded and bounded: no operation may answer with a server error. The latency is measured with
`serve.requests` requests of the champion's serving example, one after another, against `serve.p95_ms`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..net import HealthTimeoutError, request_json, wait_for_health
from ..pipeline.params import ServeParams, load_params
from ..settings import Settings
from ..tracking.registry import Registry
from ..tracking.store import CHAMPION
from .launch import url_of

CONTRACT_SEED = 20261126  # the same examples at every run: a failure can be replayed
FUZZ_TIMEOUT = 600.0  # seconds schemathesis may take in all


class ServingGateError(ProjectError):
    """The server broke its contract or its latency budget, or is not there; the message says which."""


@dataclass(frozen=True)
class Latency:
    """Milliseconds per request of the serving example, over `requests` requests."""

    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def check(settings: Settings, say: Callable[[str], None]) -> None:
    """Fuzz the running server's API, then measure its latency; ServingGateError when either fails."""
    budget = load_params(settings.params_file).serve
    url = url_of(settings)
    try:
        wait_for_health(f"{url}/health", timeout=5.0)
    except HealthTimeoutError:
        raise ServingGateError(f"no model server answers at {url}: run make deploy first") from None
    fuzz(url, budget)
    say(f"contract: no server error in {budget.fuzz_examples} schemathesis examples per operation")
    latency = measure(url, serving_payload(settings), budget.requests)
    say(
        f"latency: p95 {latency.p95_ms:.1f} ms over {latency.requests} requests (p50 "
        f"{latency.p50_ms:.1f} ms, max {latency.max_ms:.1f} ms; budget {budget.p95_ms:g} ms)"
    )
    if latency.p95_ms > budget.p95_ms:
        raise ServingGateError(
            f"p95 latency {latency.p95_ms:.1f} ms is over the {budget.p95_ms:g} ms budget "
            f"(serve.p95_ms in {settings.params_file.name}), over {latency.requests} requests"
        )


def fuzz(url: str, budget: ServeParams) -> None:
    """Schemathesis over the server's OpenAPI schema; its report goes to the terminal."""
    st = Path(sys.executable).with_name("st")
    if not st.is_file():
        raise ServingGateError(
            "schemathesis is not installed: make serve-check installs it (Poetry group contract)"
        )
    command = [
        str(st), "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
        "--max-examples", str(budget.fuzz_examples), "--seed", str(CONTRACT_SEED),
    ]  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as folder
    ):  # its cache (.schemathesis/) stays out of the project
        done = subprocess.run(command, cwd=folder, timeout=FUZZ_TIMEOUT, check=False)
    if done.returncode:
        raise ServingGateError(
            f"the API broke its contract (schemathesis exit {done.returncode}, its report above): "
            f"replay with --seed {CONTRACT_SEED}"
        )


def serving_payload(settings: Settings) -> dict[str, Any]:
    """The champion's serving example, as MLflow saved it beside the model."""
    registry = Registry.open(settings)
    champion = registry.version_of(CHAMPION)
    payload = None if champion is None else registry.serving_example(champion)
    if payload is None:
        raise ServingGateError("the champion has no serving example to measure with: make deploy")
    return payload


def measure(url: str, payload: dict[str, Any], requests: int) -> Latency:
    """Time `requests` POSTs of `payload` to /invocations, one after another."""
    request_json(f"{url}/invocations", payload, timeout=30.0)  # warm: the first one loads caches
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        request_json(f"{url}/invocations", payload, timeout=30.0)
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return Latency(requests, statistics.median(times), cuts[94], max(times))
