"""End-to-end: `make deploy` serves the champion over HTTP, `make predict` scores files with it (slow)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import http, project_python, run_make
from tests.e2e import CHROMIUM, PYFUNC_PREDICTIONS, Served, deploy_state

pytestmark = pytest.mark.slow


def running(pid: str) -> bool:
    """Whether a process runs (a zombie waiting for init to reap it has stopped running)."""
    stat = Path(f"/proc/{pid.strip()}/stat")
    try:
        return stat.read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_deploy_serves_the_champion(deployable: Path, serving_env: dict[str, str]) -> None:
    """`make deploy` gates, promotes and serves; HTTP predictions equal pyfunc's; bad input is 4xx."""
    newest = deploy_state(deployable)["newest"]  # the version a plain deploy picks
    result = run_make(deployable, "deploy", env=serving_env)
    url = f"http://127.0.0.1:{serving_env['TUMOR_CLASSIFIER_SERVE_PORT']}"
    assert "verdict" in result.stdout, "the gate table is printed"
    assert url in result.stdout
    assert "curl" in result.stdout
    assert (
        f"smoke prediction (champion {newest}): [" in result.stdout
    ), "one row of the model's serving example was scored"
    status, health = http(f"{url}/health")
    assert (status, health["alias"], health["version"]) == (200, "champion", newest)
    expected = project_python(deployable, PYFUNC_PREDICTIONS)
    status, answer = http(f"{url}/invocations", {"dataframe_split": expected["split"]})
    assert status == 200
    assert answer == {"predictions": expected["predictions"]}
    bad: object
    for bad in ({"dataframe_split": {"columns": ["x"], "data": [[1]]}}, {"nothing": []}, [1]):
        status, body = http(f"{url}/invocations", bad)
        assert 400 <= status < 500, (bad, status, body)


def test_deploy_again_swaps_in_place(served: Served, serving_env: dict[str, str]) -> None:
    """A second deploy reaches the running server: the same process serves on, nothing restarts."""
    pid_file = served.project / ".mlflow/deploy/server.pid"
    first = pid_file.read_text()
    run_make(served.project, "deploy", env=serving_env)
    assert pid_file.read_text() == first
    assert running(first)


def test_fuzzing_the_api_finds_no_server_error(served: Served, tmp_path: Path) -> None:
    """Schemathesis, from the server's own OpenAPI schema: no 5xx and no answer slower than a second."""
    completed = subprocess.run(
        [Path(sys.executable).with_name("st"), "run", f"{served.url}/openapi.json",
         "--checks", "not_a_server_error", "--max-response-time", "1", "--max-examples", "100",
         "--seed", "20261126"],
        capture_output=True, text=True, timeout=600,
        cwd=tmp_path,  # st keeps its cache (.schemathesis/) in its working folder
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-6000:]


def test_the_serving_gate_passes_and_fails_on_its_budget(
    served: Served, serving_env: dict[str, str]
) -> None:
    """`make serve-check` (CI's serving gate): green on the budget as shipped, red below what it measures."""
    params = served.project / "params.yaml"
    shipped = params.read_text()
    done = run_make(served.project, "serve-check", env=serving_env, check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "contract: no server error in 100 schemathesis examples per operation" in done.stdout
    measured = float(done.stdout.split("latency: p95 ")[1].split(" ms")[0])
    try:
        params.write_text(shipped.replace("  p95_ms: 100 ", f"  p95_ms: {measured / 1000:g} "))
        done = run_make(served.project, "serve-check", env=serving_env, check=False)
    finally:
        params.write_text(shipped)
    assert done.returncode != 0
    assert f"over the {measured / 1000:g} ms budget (serve.p95_ms in params.yaml)" in done.stderr


def test_the_docs_page_renders_without_internet(served: Served, tmp_path: Path) -> None:
    """/docs draws every operation in a headless browser that can reach nothing but 127.0.0.1."""
    url = f"{served.url}/docs"
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


def test_predict_target_scores_a_file(served: Served, tmp_path: Path) -> None:
    """`make predict` writes one prediction per input row."""
    rows = tmp_path / "rows.csv"
    test = (served.project / "data/prepared/test.csv").read_text().splitlines()
    header = test[0].split(",")
    target = header.index("target")
    rows.write_text(
        "\n".join(
            ",".join(v for i, v in enumerate(line.split(",")) if i != target) for line in test
        )
    )
    out = tmp_path / "preds.csv"
    run_make(served.project, "predict", f"INPUT={rows}", f"OUTPUT={out}")
    assert len(out.read_text().splitlines()) == len(test)


def test_undeploy_leaves_no_process(served: Served, serving_env: dict[str, str]) -> None:
    """`make undeploy` stops the server: no process, no PID file, the port is closed."""
    pid = (served.project / ".mlflow/deploy/server.pid").read_text().strip()
    run_make(served.project, "undeploy", env=serving_env)
    assert not running(pid)
    assert not (served.project / ".mlflow/deploy/server.pid").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(serving_env["TUMOR_CLASSIFIER_SERVE_PORT"]))) != 0
