"""The serving gate: refusals of its budget, its timing of a real HTTP server, and its one-line failures."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from {{ cookiecutter.package_name }}.deploy.serving_gate import ServingGateError, check, fuzz, measure
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.net import free_port
from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.params import parse_params
from {{ cookiecutter.package_name }}.settings import Settings

from tests.pipeline.conftest import PARAMS_FILE
from tests.pipeline.test_params import shipped


class Answering(BaseHTTPRequestHandler):
    """Answers every POST with one prediction, and /health with ok; counts the POSTs."""

    posts: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        """/health, or any other GET: ok."""
        self._answer({"status": "ok"})

    def do_POST(self) -> None:
        """A prediction for whatever was sent."""
        length = int(self.headers["Content-Length"])
        type(self).posts.append(json.loads(self.rfile.read(length)))
        self._answer({"predictions": [1]})

    def _answer(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        """Nothing on stderr."""


@pytest.fixture
def answering() -> Iterator[str]:
    """A real HTTP server on a free loopback port; its base URL."""
    Answering.posts = []
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Answering)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_budget_is_validated_by_name() -> None:
    """A budget of zero, or too few requests to read a p95 from, is refused naming the field."""
    for field, bad in (("p95_ms", 0), ("requests", 5), ("fuzz_examples", 0)):
        raw = shipped()
        raw["serve"][field] = bad
        with pytest.raises(PipelineError, match=rf"serve\.{field}"):
            parse_params(raw)


def test_latency_is_measured_over_the_asked_requests(answering: str) -> None:
    """`requests` POSTs of the payload (and one to warm up) reach the server; the figures are ordered."""
    payload = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
    latency = measure(answering, payload, 40)
    assert len(Answering.posts) == 41
    assert all(post == payload for post in Answering.posts)
    assert latency.requests == 40
    assert 0 < latency.p50_ms <= latency.p95_ms <= latency.max_ms


def test_no_server_is_one_line_naming_the_address(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a server on the port, the gate says where it looked and what to run."""
    shutil.copy(PARAMS_FILE, settings.project_root / "params.yaml")
    port = free_port()
    monkeypatch.setenv(f"{ENV_PREFIX}SERVE_PORT", str(port))
    with pytest.raises(
        ServingGateError, match=rf"no model server answers at .*:{port}: run make deploy"
    ):
        check(Settings(_env_file=None, project_root=settings.project_root), print)


def test_without_schemathesis_the_gate_names_the_group(
    answering: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A venv without `st` is told which make target installs it."""
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(ServingGateError, match="make serve-check installs it"):
        fuzz(answering, parse_params(shipped()).serve)
