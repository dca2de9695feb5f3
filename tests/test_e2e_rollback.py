"""End-to-end: the quality gate, rollback, and swaps under load that fail no request (slow)."""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import http, run_make
from tests.e2e import NewerVersion, Served, pd_rows

pytestmark = pytest.mark.slow


class ClientLoop:
    """A client scoring one row after another in a thread, noting each answer's version and failure."""

    def __init__(self, url: str, payload: Any) -> None:
        self.url, self.payload = url, payload
        self.versions: list[str] = []
        self.failures: list[str] = []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        """Score until stopped."""
        body = json.dumps(self.payload).encode()
        while not self.done.is_set():
            request = urllib.request.Request(
                self.url, data=body, headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.versions.append(response.headers["X-Model-Version"])
            except (urllib.error.URLError, OSError) as error:
                self.failures.append(str(error))

    def __enter__(self) -> ClientLoop:
        self.thread.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.5)
        self.done.set()
        self.thread.join()

    def changes(self) -> list[tuple[str, str]]:
        """Each change of the answering version, in order."""
        return [(a, b) for a, b in itertools.pairwise(self.versions) if a != b]


def test_failed_gate_keeps_the_champion(
    served: Served, tmp_path: Path, serving_env: dict[str, str]
) -> None:
    """An impossible threshold fails `make deploy` and leaves the aliases as they were."""
    params = yaml.safe_load((served.project / "params.yaml").read_text())
    params["gate"]["limits"] = {"accuracy": {"min": 1.01}}
    strict = tmp_path / "params.yaml"
    strict.write_text(yaml.safe_dump(params))
    env = {**serving_env, "TUMOR_CLASSIFIER_PARAMS_FILE": str(strict)}
    result = run_make(served.project, "deploy", env=env, check=False)
    assert result.returncode != 0
    assert "failed the quality gate" in result.stderr
    status, health = http(f"{served.url}/health")
    assert (status, health["version"]) == (200, served.version), "the running server is untouched"


def test_rollback_serves_the_previous_version(
    newer_version: NewerVersion, serving_env: dict[str, str]
) -> None:
    """Deploy the newer version (it is champion, the old one previous), roll back: the old one serves again."""
    project, url = newer_version.project, newer_version.url
    old, new = newer_version.champion, newer_version.version
    run_make(project, "deploy", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == new
    run_make(project, "rollback", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == old
    run_make(project, "deploy", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == old, "the next deploy does not undo the rollback"
    run_make(project, "deploy", f"VERSION={new}", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == new, "a rolled-back version returns by number"


def test_deploy_and_rollback_under_load_fail_no_request(
    newer_version: NewerVersion, serving_env: dict[str, str]
) -> None:
    """A client scoring all along sees 0 failures and the version change once per deploy and rollback."""
    project, url = newer_version.project, newer_version.url
    old, new = newer_version.champion, newer_version.version
    with ClientLoop(f"{url}/invocations", {"dataframe_split": pd_rows(project, 1)}) as loop:
        run_make(project, "deploy", env=serving_env)
        time.sleep(0.5)
        run_make(project, "rollback", env=serving_env)
    assert not loop.failures, f"{len(loop.failures)} failed: {loop.failures[:3]}"
    assert loop.changes() == [(old, new), (new, old)], f"{len(loop.versions)} answers"
    assert http(f"{url}/health")[1]["version"] == old


def test_a_broken_candidate_leaves_the_old_version_serving(
    newer_version: NewerVersion, serving_env: dict[str, str]
) -> None:
    """A version that passes the gate but fails its serving example in the server is not served."""
    project, url = newer_version.project, newer_version.url
    old, new = newer_version.champion, newer_version.version
    newest = max(
        project.glob(".mlflow/**/serving_input_example.json"),
        key=lambda path: path.stat().st_mtime,
    )
    example = newest.read_text()
    newest.write_text(json.dumps({"dataframe_split": {"columns": ["nope"], "data": [[1.0]]}}))
    try:
        with ClientLoop(f"{url}/invocations", {"dataframe_split": pd_rows(project, 1)}) as loop:
            result = run_make(project, "deploy", env=serving_env, check=False)
    finally:
        newest.write_text(example)  # the version stays rolled back; its files are whole again
    assert result.returncode != 0
    assert f"version {new} not deployed" in result.stderr
    assert f"back on version {old}" in result.stderr, result.stderr
    assert not loop.failures
    assert set(loop.versions) == {old}, "the old version answered every request"
    health = http(f"{url}/health")[1]
    assert (health["version"], health["alias"]) == (old, "champion")
