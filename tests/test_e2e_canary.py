"""End-to-end: a canary serves its share of the requests and is promoted without a restart (slow)."""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import http, run_make
from tests.e2e import NewerVersion, pd_rows

pytestmark = pytest.mark.slow


def metric_total(exposition: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_canary_gets_its_share_and_is_promoted_without_a_restart(
    newer_version: NewerVersion, serving_env: dict[str, str]
) -> None:
    """Two workers, a 20% canary: the share holds, /metrics adds up both workers, promote swaps in place."""
    project, url, canary = newer_version.project, newer_version.url, newer_version.version
    run_make(project, "undeploy", env=serving_env)  # a fresh server: /metrics counts this test only
    env = {**serving_env, "TUMOR_CLASSIFIER_SERVE_WORKERS": "2"}
    run_make(project, "deploy", "STRATEGY=canary", "PERCENT=20", f"VERSION={canary}", env=env)
    rows = pd_rows(project, 400, split="train")
    answered = []
    for number, row in enumerate(rows["data"]):
        payload = {"dataframe_split": {"columns": rows["columns"], "data": [row]}}
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": f"client-{number}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            answered.append(response.headers["X-Model-Alias"])
    share = answered.count("challenger") / len(answered)
    assert 0.12 < share < 0.28, f"challenger share {share:.2f} for PERCENT=20"
    exposition = urllib.request.urlopen(f"{url}/metrics", timeout=10).read().decode()
    scored = metric_total(exposition, "tumor_classifier_requests_total", endpoint="/invocations")
    assert scored == 401, f"{scored} requests counted by /metrics: 400 and the smoke test"
    assert (
        metric_total(
            exposition, "tumor_classifier_requests_total", version=canary, alias="challenger"
        )
        == answered.count("challenger") + 1
    )
    pid = (project / ".mlflow/deploy/server.pid").read_text()
    run_make(project, "canary-promote", env=env)
    health = http(f"{url}/health")[1]
    assert (health["version"], health["challenger"]) == (canary, None)
    assert (project / ".mlflow/deploy/server.pid").read_text() == pid, "no restart"
