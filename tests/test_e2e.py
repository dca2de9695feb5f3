"""End-to-end: a baked project installs with Poetry and passes its own checks (slow)."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import free_port, project_env, run_make

pytestmark = pytest.mark.slow


def test_baked_project_passes_its_own_checks(installed_project: Path) -> None:
    """`make lint typecheck test` is green on a fresh bake, with no edits."""
    result = run_make(installed_project, "lint", "typecheck", "test")
    assert " passed" in result.stdout
    assert "Required test coverage" in result.stdout


def test_help_lists_every_target(installed_project: Path) -> None:
    """`make` alone documents each target."""
    listing = run_make(installed_project).stdout
    for target in ("install", "lint", "format", "typecheck", "test", "clean"):
        assert f"  {target}" in listing, target


def test_console_script_reports_the_project(installed_project: Path) -> None:
    """The installed console script runs and finds its project root."""
    completed = subprocess.run(
        [installed_project / ".venv/bin/tumor-classifier", "info", "--json"],
        cwd=installed_project / "src",
        capture_output=True,
        text=True,
        check=True,
    )
    assert f'"project_root": "{installed_project}"' in completed.stdout


def project_python(project: Path, code: str) -> Any:
    """Run Python in the baked project's venv; the code prints one JSON document."""
    completed = subprocess.run(
        [project / ".venv/bin/python", "-c", code],
        cwd=project,
        env=project_env(),
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


STORE_FACTS = """
import json, mlflow
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
mlflow.set_tracking_uri(s.resolved_tracking_uri)
exp = client.get_experiment_by_name(s.experiment_name)
runs = client.search_runs([exp.experiment_id])
versions = client.search_model_versions(f"name='{s.model_name}'")
latest = max(versions, key=lambda v: int(v.version))
uri = f"models:/{s.model_name}/{latest.version}"
info = mlflow.models.Model.load(uri)
example = info.load_input_example(mlflow.artifacts.download_artifacts(uri))
predictions = mlflow.pyfunc.load_model(uri).predict(example)
run = runs[0]
print(json.dumps({
    "runs": [(r.info.status, r.info.run_name) for r in runs],
    "params": sorted(run.data.params),
    "metrics": sorted(run.data.metrics),
    "plots": sorted(a.path for a in client.list_artifacts(run.info.run_id, "plots")),
    "versions": len(versions),
    "version_tags": latest.tags,
    "signature": info.signature is not None,
    "example_rows": len(example),
    "predictions": len(predictions),
    "artifact_root": exp.artifact_location,
    "clean_runs": len(mlflow.search_runs(
        [exp.experiment_id], filter_string="tags.tumor_classifier.git.dirty = 'false'")),
    "provenance": sorted(k for k in run.data.tags if k.startswith("tumor_classifier.")),
}))
"""


def test_train_runs_the_pipeline_and_registers_a_model(installed_project: Path) -> None:
    """`make train` leaves one FINISHED run and a registered, loadable model with its contract."""
    run_make(installed_project, "train")
    facts = project_python(installed_project, STORE_FACTS)
    assert facts["runs"] == [["FINISHED", "train"]]
    assert {"model.max_iter", "seed", "data.source"} <= set(facts["params"])
    assert {"val_accuracy", "test_accuracy", "test_roc_auc"} <= set(facts["metrics"])
    assert facts["plots"] == ["plots/confusion.png", "plots/roc.png"]
    assert facts["versions"] == 1
    assert facts["version_tags"]["data.md5"].endswith(
        ".dir"
    ), "tagged with the data hash in dvc.lock"
    assert facts["signature"]
    assert facts["predictions"] == facts["example_rows"] > 0
    assert facts["artifact_root"] == "tumor-classifier-artifacts:/", "named relative to the store"
    assert facts["clean_runs"] == 1, "the plugin tagged the run as made from a clean commit"
    assert {
        "tumor_classifier.git.commit",
        "tumor_classifier.params.sha256",
        "tumor_classifier.data.data/prepared",
        "tumor_classifier.lib.mlflow",
    } <= set(facts["provenance"])
    metrics = json.loads((installed_project / "metrics.json").read_text())
    assert metrics["roc_auc"] > 0.9
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=installed_project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    staged = {line[3:] for line in status if line[0] == "A" and line[1] == " "}
    assert staged == {
        "poetry.lock",
        "dvc.lock",
        "data/.gitignore",
        "models/.gitignore",
        "models/run.json",
        "metrics.json",
        "reports/plots/confusion.csv",
        "reports/plots/roc.csv",
    }, status
    assert len(status) == len(staged), f"only staged run records, ready for one commit: {status}"


def test_second_train_is_a_no_op(installed_project: Path) -> None:
    """Nothing changed, so `make train` again creates no run and no version."""
    result = run_make(installed_project, "train")
    assert "didn't change" in result.stdout + result.stderr or "up to date" in result.stdout
    facts = project_python(installed_project, STORE_FACTS)
    assert len(facts["runs"]) == 1
    assert facts["versions"] == 1


def test_metrics_target_shows_the_test_metrics(installed_project: Path) -> None:
    """`make metrics` prints the metrics DVC tracks."""
    assert "roc_auc" in run_make(installed_project, "metrics").stdout


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("split: {test_size: 2}", "split.test_size=2: Input should be less than 1"),
        (
            "data: {source: datasets/missing.csv, target: y}",
            "datasets/missing.csv: data.source file not found",
        ),
    ],
)
def test_bad_params_fail_with_a_clear_message(
    installed_project: Path, tmp_path: Path, params: str, message: str
) -> None:
    """A bad params file or a missing CSV stops the stage with the key or path named."""
    shipped = yaml.safe_load((installed_project / "params.yaml").read_text())
    shipped.update(yaml.safe_load(params))
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(shipped))
    completed = subprocess.run(
        [installed_project / ".venv/bin/tumor-classifier", "ingest"],
        cwd=installed_project,
        env={**project_env(), "TUMOR_CLASSIFIER_PARAMS_FILE": str(bad)},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 1
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


@pytest.fixture(scope="module")
def serving_env() -> dict[str, str]:
    """Settings that put the deployed server on a free loopback port."""
    return {"TUMOR_CLASSIFIER_SERVE_PORT": str(free_port())}


def running(pid: str) -> bool:
    """Whether a process runs (a zombie waiting for init to reap it has stopped running)."""
    stat = Path(f"/proc/{pid.strip()}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def http(url: str, payload: Any = None) -> tuple[int, Any]:
    """GET or POST JSON; return the status and the decoded body (errors included)."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


PYFUNC_PREDICTIONS = """
import json, mlflow, pandas as pd
from tumor_classifier.settings import load_settings
s = load_settings()
mlflow.set_tracking_uri(s.resolved_tracking_uri)
rows = pd.read_csv("data/prepared/test.csv").drop(columns=["target"]).head(20)
model = mlflow.pyfunc.load_model(f"models:/{s.model_name}@champion")
print(json.dumps({"split": json.loads(rows.to_json(orient="split", index=False)),
                  "predictions": model.predict(rows).tolist()}))
"""


def test_deploy_serves_the_champion(installed_project: Path, serving_env: dict[str, str]) -> None:
    """`make deploy` gates, promotes and serves; HTTP predictions equal pyfunc's; bad input is 4xx."""
    result = run_make(installed_project, "deploy", env=serving_env)
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    assert "verdict" in result.stdout, "the gate table is printed"
    assert url in result.stdout
    assert "curl" in result.stdout
    assert (
        "smoke prediction (champion 1): [" in result.stdout
    ), "one row of the model's serving example was scored"
    status, health = http(f"{url}/health")
    assert (status, health["alias"], health["version"]) == (200, "champion", "1")
    expected = project_python(installed_project, PYFUNC_PREDICTIONS)
    status, answer = http(f"{url}/invocations", {"dataframe_split": expected["split"]})
    assert status == 200
    assert answer == {"predictions": expected["predictions"]}
    bad: object
    for bad in ({"dataframe_split": {"columns": ["x"], "data": [[1]]}}, {"nothing": []}, [1]):
        status, body = http(f"{url}/invocations", bad)
        assert 400 <= status < 500, (bad, status, body)


def test_deploy_again_swaps_in_place(installed_project: Path, serving_env: dict[str, str]) -> None:
    """A second deploy reaches the running server: the same process serves on, nothing restarts."""
    pid_file = installed_project / ".mlflow/deploy/server.pid"
    first = pid_file.read_text()
    run_make(installed_project, "deploy", env=serving_env)
    assert pid_file.read_text() == first
    assert running(first)


def test_fuzzing_the_api_finds_no_server_error(serving_env: dict[str, str]) -> None:
    """Schemathesis, from the server's own OpenAPI schema: no 5xx and no answer slower than a second."""
    schema = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}/openapi.json"
    completed = subprocess.run(
        [Path(sys.executable).with_name("st"), "run", schema, "--checks", "not_a_server_error",
         "--max-response-time", "1", "--max-examples", "100", "--seed", "20261126"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-6000:]


def test_the_docs_page_renders_without_internet(
    serving_env: dict[str, str], tmp_path: Path
) -> None:
    """/docs draws every operation in a headless browser that can reach nothing but 127.0.0.1."""
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}/docs"
    offline = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
    dom = subprocess.run(
        [*CHROMIUM, offline, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "swagger-ui" in dom
    for operation in ("/health", "/invocations", "/predict"):
        assert f'data-path="{operation}"' in dom, f"{operation} is not drawn on {url}"


def test_predict_target_scores_a_file(installed_project: Path, tmp_path: Path) -> None:
    """`make predict` writes one prediction per input row."""
    rows = tmp_path / "rows.csv"
    test = (installed_project / "data/prepared/test.csv").read_text().splitlines()
    header = test[0].split(",")
    target = header.index("target")
    rows.write_text(
        "\n".join(
            ",".join(v for i, v in enumerate(line.split(",")) if i != target) for line in test
        )
    )
    out = tmp_path / "preds.csv"
    run_make(installed_project, "predict", f"INPUT={rows}", f"OUTPUT={out}")
    assert len(out.read_text().splitlines()) == len(test)


def test_failed_gate_keeps_the_champion(
    installed_project: Path, tmp_path: Path, serving_env: dict[str, str]
) -> None:
    """An impossible threshold fails `make deploy` and leaves the aliases as they were."""
    params = yaml.safe_load((installed_project / "params.yaml").read_text())
    params["gate"]["limits"] = {"accuracy": {"min": 1.01}}
    strict = tmp_path / "params.yaml"
    strict.write_text(yaml.safe_dump(params))
    env = {**serving_env, "TUMOR_CLASSIFIER_PARAMS_FILE": str(strict)}
    result = run_make(installed_project, "deploy", env=env, check=False)
    assert result.returncode != 0
    assert "failed the quality gate" in result.stderr
    status, health = http(f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}/health")
    assert (status, health["version"]) == (200, "1"), "the running server is untouched"


def test_rollback_serves_the_previous_version(
    installed_project: Path, serving_env: dict[str, str]
) -> None:
    """Train again, deploy (champion 2, previous 1), roll back: champion 1 is served again."""
    run_make(installed_project, "train", "DVC_FLAGS=--force")
    run_make(installed_project, "deploy", env=serving_env)
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    assert http(f"{url}/health")[1]["version"] == "2"
    run_make(installed_project, "rollback", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == "1"
    run_make(installed_project, "deploy", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == "1", "the next deploy does not undo the rollback"
    run_make(installed_project, "deploy", "VERSION=2", env=serving_env)
    assert http(f"{url}/health")[1]["version"] == "2", "a rolled-back version returns by number"


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


def pd_rows(
    project: Path, count: int, shift: dict[str, float] | None = None, split: str = "test"
) -> dict[str, Any]:
    """A split's first `count` rows (cycling; feature columns only) in dataframe_split form."""
    lines = (project / f"data/prepared/{split}.csv").read_text().splitlines()
    header = lines[0].split(",")
    target = header.index("target")
    columns = [name for i, name in enumerate(header) if i != target]
    data = []
    for line in (lines[1:] * (count // (len(lines) - 1) + 1))[:count]:
        values = [float(v) for i, v in enumerate(line.split(",")) if i != target]
        row = dict(zip(columns, values, strict=True))
        row.update(shift or {})
        data.append([row[name] for name in columns])
    return {"columns": columns, "data": data}


def test_deploy_and_rollback_under_load_fail_no_request(
    installed_project: Path, serving_env: dict[str, str]
) -> None:
    """A client scoring all along sees 0 failures and the version change once per deploy and rollback."""
    run_make(installed_project, "train", "DVC_FLAGS=--force")  # version 3
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    with ClientLoop(
        f"{url}/invocations", {"dataframe_split": pd_rows(installed_project, 1)}
    ) as loop:
        run_make(installed_project, "deploy", env=serving_env)
        time.sleep(0.5)
        run_make(installed_project, "rollback", env=serving_env)
    assert not loop.failures, f"{len(loop.failures)} failed: {loop.failures[:3]}"
    assert loop.changes() == [("2", "3"), ("3", "2")], f"{len(loop.versions)} answers"
    assert http(f"{url}/health")[1]["version"] == "2"


def test_a_broken_candidate_leaves_the_old_version_serving(
    installed_project: Path, serving_env: dict[str, str]
) -> None:
    """A version that passes the gate but fails its serving example in the server is not served."""
    run_make(installed_project, "train", "DVC_FLAGS=--force")  # version 4
    newest = max(
        installed_project.glob(".mlflow/**/serving_input_example.json"),
        key=lambda path: path.stat().st_mtime,
    )
    newest.write_text(json.dumps({"dataframe_split": {"columns": ["nope"], "data": [[1.0]]}}))
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    with ClientLoop(
        f"{url}/invocations", {"dataframe_split": pd_rows(installed_project, 1)}
    ) as loop:
        result = run_make(installed_project, "deploy", env=serving_env, check=False)
    assert result.returncode != 0
    assert "version 4 not deployed" in result.stderr
    assert "back on version 2" in result.stderr, result.stderr
    assert not loop.failures
    assert set(loop.versions) == {"2"}, "the old version answered every request"
    health = http(f"{url}/health")[1]
    assert (health["version"], health["alias"]) == ("2", "champion")


def metric_total(exposition: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    total = 0.0
    for line in exposition.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_a_canary_gets_its_share_and_is_promoted_without_a_restart(
    installed_project: Path, serving_env: dict[str, str]
) -> None:
    """Two workers, a 20% canary: the share holds, /metrics adds up both workers, promote swaps in place."""
    run_make(installed_project, "undeploy", env=serving_env)
    shutil.rmtree(
        installed_project / "logs/requests"
    )  # this deployment's requests only, for monitor
    env = {
        **serving_env,
        "TUMOR_CLASSIFIER_SERVE_WORKERS": "2",
        "TUMOR_CLASSIFIER_SERVE_REQUEST_LOG_RATE": "1",
    }
    run_make(installed_project, "deploy", "STRATEGY=canary", "PERCENT=20", "VERSION=3", env=env)
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    rows = pd_rows(installed_project, 400, split="train")  # what the model was trained on
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
        metric_total(exposition, "tumor_classifier_requests_total", version="3", alias="challenger")
        == answered.count("challenger") + 1
    )
    pid = (installed_project / ".mlflow/deploy/server.pid").read_text()
    run_make(installed_project, "canary-promote", env=env)
    health = http(f"{url}/health")[1]
    assert (health["version"], health["challenger"]) == ("3", None)
    assert (installed_project / ".mlflow/deploy/server.pid").read_text() == pid, "no restart"


def test_monitor_reports_drift_in_the_served_requests(
    installed_project: Path, serving_env: dict[str, str]
) -> None:
    """The canary test's requests (training rows) show no drift; one feature shifted fails make monitor."""
    result = run_make(installed_project, "monitor")
    report = installed_project / "reports/monitor/drift.html"
    summary = json.loads((installed_project / "reports/monitor/drift.json").read_text())
    assert report.is_file()
    assert summary["verdict"] == "ok", result.stdout
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    rows = pd_rows(installed_project, 600, split="train")
    assert rows["columns"][0] == "mean_radius"
    high = max(row[0] for row in rows["data"])  # at the edge of its contract
    for start in range(0, 600, 10):
        shifted = [[high, *row[1:]] for row in rows["data"][start : start + 10]]
        payload = {"dataframe_split": {"columns": rows["columns"], "data": shifted}}
        assert http(f"{url}/invocations", payload)[0] == 200
    drifted = run_make(installed_project, "monitor", check=False)
    assert drifted.returncode != 0
    summary = json.loads((installed_project / "reports/monitor/drift.json").read_text())
    assert summary["verdict"] == "drift"
    assert summary["features"]["mean_radius"]["drifted"] is True
    assert summary["features"]["mean_texture"]["drifted"] is False, "only the shifted one"


def test_tag_check_reads_the_tag_as_data(installed_project: Path, tmp_path: Path) -> None:
    """`make tag-check` compares TAG as text: shell syntax in it runs nothing."""
    marker = tmp_path / "ran"
    result = run_make(
        installed_project, "tag-check", f'TAG=v1"; touch {marker}; echo "', check=False
    )
    assert result.returncode != 0
    assert "is not the package version v0.1.0" in result.stderr
    assert not marker.exists(), "the tag was run as shell code"
    assert run_make(installed_project, "tag-check", "TAG=v0.1.0").returncode == 0


def test_undeploy_leaves_no_process(installed_project: Path, serving_env: dict[str, str]) -> None:
    """`make undeploy` stops the server: no process, no PID file, the port is closed."""
    pid = (installed_project / ".mlflow/deploy/server.pid").read_text().strip()
    run_make(installed_project, "undeploy", env=serving_env)
    assert not running(pid)
    assert not (installed_project / ".mlflow/deploy/server.pid").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(serving_env["TUMOR_CLASSIFIER_SERVE_PORT"]))) != 0


EXPERIMENT_RUNS = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
exp = client.get_experiment_by_name(s.experiment_name)
runs = client.search_runs([exp.experiment_id], "tags.`tumor_classifier.dvc.experiment` != ''")
print(json.dumps(sorted(
    (r.data.tags["tumor_classifier.dvc.experiment"], r.data.params["model.learning_rate"], r.info.status)
    for r in runs
)))
"""


def dvc(project: Path, *args: str) -> str:
    """Run the baked project's DVC; return what it printed."""
    identity = {  # experiments are git commits: never depend on the machine's git identity
        f"GIT_{role}_{part}": value
        for role in ("AUTHOR", "COMMITTER")
        for part, value in (("NAME", "t"), ("EMAIL", "t@example.com"))
    }
    env = project_env()
    env["PATH"] = (
        f"{project / '.venv/bin'}:{env['PATH']}"  # as `poetry run` or an active venv has it
    )
    completed = subprocess.run(
        [project / ".venv/bin/dvc", *args],
        cwd=project,
        env={**env, **identity},
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, f"dvc {' '.join(args)}:\n{completed.stdout}{completed.stderr}"
    return completed.stdout


def test_dvc_experiments_land_in_the_project_store(installed_project: Path) -> None:
    """Temporary and queued DVC experiments (two workers) log to the project's own store, named."""
    subprocess.run(["git", "add", "--all"], cwd=installed_project, check=True)
    subprocess.run(
        # --no-verify: the project's pre-commit hooks are not what this test is about
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-qm",
            "trained",
            "--no-verify",
        ],
        cwd=installed_project,
        check=True,
    )
    dvc(installed_project, "exp", "run", "--temp", "-n", "temp-lr", "-S", "model.learning_rate=0.2")
    for name, rate in (("queued-a", "0.3"), ("queued-b", "0.05")):
        dvc(
            installed_project,
            "exp",
            "run",
            "--queue",
            "-n",
            name,
            "-S",
            f"model.learning_rate={rate}",
        )
    dvc(installed_project, "queue", "start", "-j", "2")
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and re.search(
            r"Running|Queued", dvc(installed_project, "queue", "status")
        ):
            time.sleep(2)
    finally:
        dvc(installed_project, "queue", "stop", "--kill")  # no worker outlives the test
    runs = project_python(installed_project, EXPERIMENT_RUNS)
    assert runs == [
        ["queued-a", "0.3", "FINISHED"],
        ["queued-b", "0.05", "FINISHED"],
        ["temp-lr", "0.2", "FINISHED"],
    ]
    assert "queued-a" in dvc(installed_project, "exp", "show", "--no-pager", "--csv")


CHAMPION_VERSION = """
import json
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import CHAMPION, connect
s = load_settings()
print(json.dumps(connect(s).get_model_version_by_alias(s.model_name, CHAMPION).version))
"""
EVERY_VERSION_LOADS = """
import json
from tumor_classifier.model.load import load_model
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import connect
s = load_settings()
versions = connect(s).search_model_versions(f"name='{s.model_name}'")
loaded = [load_model(s, alias=None, version=str(v.version)) for v in versions]
print(json.dumps(sorted(len(m.predict(m.input_example)) for m in loaded)))
"""

CHROMIUM = [
    "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000", "--window-size=1400,900",
]  # fmt: skip


def wait_for(url: str, seconds: float = 90) -> None:
    """Poll a URL until it answers 200."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds:.0f}s")


def test_a_copied_project_works_from_its_new_folder(
    installed_project: Path, tmp_path: Path
) -> None:
    """Copied elsewhere, with the original's artifacts gone, the project still works.

    It deploys, predicts, loads every version and shows its runs and artifacts in `make ui`, opening on
    the runs table (real Chromium).
    """
    copy = tmp_path / "restored" / installed_project.name
    shutil.copytree(installed_project, copy, symlinks=True)
    artifacts = installed_project / ".mlflow" / "artifacts"
    artifacts.rename(artifacts.with_name("artifacts.away"))
    env = {"TUMOR_CLASSIFIER_SERVE_PORT": str(free_port())}
    ui: subprocess.Popen[str] | None = None
    try:
        # The champion by number: the newest versions come from the DVC queue, whose two parallel runs take
        # their numbers in either order, and the gate may rightly refuse the one with the worse log loss.
        champion = project_python(installed_project, CHAMPION_VERSION)
        deployed = run_make(copy, "deploy", f"VERSION={champion}", env=env)
        assert "rebuilding .venv" in deployed.stdout, "the copied venv names the old folder"
        assert f"smoke prediction (champion {champion}): [" in deployed.stdout
        rows, out = tmp_path / "rows.csv", tmp_path / "preds.csv"
        test = (copy / "data/prepared/test.csv").read_text().splitlines()
        target = test[0].split(",").index("target")
        rows.write_text(
            "\n".join(",".join(v for i, v in enumerate(r.split(",")) if i != target) for r in test)
        )
        run_make(copy, "predict", f"INPUT={rows}", f"OUTPUT={out}")
        assert len(out.read_text().splitlines()) == len(test)
        assert all(count == 5 for count in project_python(copy, EVERY_VERSION_LOADS))

        port = free_port()
        ui = subprocess.Popen(
            [copy / ".venv/bin/tumor-classifier", "ui", "--port", str(port)],
            cwd=copy,
            env=project_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert ui.stdout is not None
        url = re.search(r"http://\S+", ui.stdout.readline())
        assert url is not None, "make ui prints where the UI opens"
        assert "workflowType=machine_learning" in url.group(0)
        wait_for(f"http://127.0.0.1:{port}/health")
        run_id = project_python(copy, STORE_RUN_ID)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/get-artifact?path=plots/confusion.png&run_uuid={run_id}"
        ) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n", "the UI serves the copy's artifacts"
        page = subprocess.run(
            [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url.group(0)],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}",
             f"--screenshot={tmp_path / 'ui.png'}", url.group(0)],
            capture_output=True, timeout=120,
        )  # fmt: skip
        assert "Training runs" not in page, "not the GenAI overview"
        assert ">Runs<" in page, "the runs table"
        assert ">train<" in page, "the training run is listed"
        assert (tmp_path / "ui.png").stat().st_size > 10_000
    finally:
        if ui is not None:
            os.killpg(ui.pid, signal.SIGTERM)
            ui.wait(timeout=30)
        run_make(copy, "undeploy", env=env, check=False)
        artifacts.with_name("artifacts.away").rename(artifacts)


STORE_RUN_ID = """
import json
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import connect
s = load_settings()
client = connect(s)
exp = client.get_experiment_by_name(s.experiment_name)
run = client.search_runs([exp.experiment_id], "attributes.run_name = 'train'")[-1]
print(json.dumps(run.info.run_id))
"""
