"""End-to-end: `make monitor` compares the served requests with the training data (slow)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import http, run_make
from tests.e2e import pd_rows

pytestmark = pytest.mark.slow


@pytest.fixture
def logging_server(deployable: Path, serving_env: dict[str, str]) -> str:
    """A fresh server logging every request, with nothing in logs/requests before it: its URL."""
    run_make(deployable, "undeploy", env=serving_env)  # the log rate is read when the server starts
    shutil.rmtree(deployable / "logs/requests", ignore_errors=True)
    env = {**serving_env, "TUMOR_CLASSIFIER_SERVE_REQUEST_LOG_RATE": "1"}
    run_make(deployable, "deploy", env=env)
    return f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"


def test_monitor_reports_drift_in_the_served_requests(
    deployable: Path, logging_server: str
) -> None:
    """Training rows served show no drift; one feature shifted fails `make monitor`."""
    rows = pd_rows(deployable, 400, split="train")  # what the model was trained on
    for start in range(0, 400, 10):
        payload = {
            "dataframe_split": {
                "columns": rows["columns"],
                "data": rows["data"][start : start + 10],
            }
        }
        assert http(f"{logging_server}/invocations", payload)[0] == 200
    result = run_make(deployable, "monitor")
    report = deployable / "reports/monitor/drift.html"
    summary = json.loads((deployable / "reports/monitor/drift.json").read_text())
    assert report.is_file()
    assert summary["verdict"] == "ok", result.stdout
    rows = pd_rows(deployable, 600, split="train")
    assert rows["columns"][0] == "mean_radius"
    high = max(row[0] for row in rows["data"])  # at the edge of its contract
    for start in range(0, 600, 10):
        shifted = [[high, *row[1:]] for row in rows["data"][start : start + 10]]
        payload = {"dataframe_split": {"columns": rows["columns"], "data": shifted}}
        assert http(f"{logging_server}/invocations", payload)[0] == 200
    drifted = run_make(deployable, "monitor", check=False)
    assert drifted.returncode != 0
    summary = json.loads((deployable / "reports/monitor/drift.json").read_text())
    assert summary["verdict"] == "drift"
    assert summary["features"]["mean_radius"]["drifted"] is True
    assert summary["features"]["mean_texture"]["drifted"] is False, "only the shifted one"
