"""Benchmark the project's model server against `mlflow models serve`, same model, same client.

    .venv/bin/python bench/serve.py [--project build/demo/tumor-classifier] [--requests 400]

Runs with the project's interpreter. Serves the registered `champion` (promoting the newest version
first when there is none) with both servers on free loopback ports, one after the other, and drives
each with the same bounded client: keep-alive connections in threads, 1-row and 100-row
`dataframe_split` payloads, concurrency 1 and 8, at most --requests requests or --seconds per cell.
It checks that both answer with identical predictions, and prints requests/s, p50 and p99 latency,
and the time from launch to the first healthy answer. Goal: >= 2x the throughput of
`mlflow models serve`, and a shorter time to ready.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import package, project_parser, run_in_project


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def call(connection: http.client.HTTPConnection, path: str, body: bytes | None = None) -> Any:
    """GET `path` (POST `body` when given) and return the decoded JSON; raise unless the status is 200."""
    method = "GET" if body is None else "POST"
    connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
    return json.loads(data)


def launch(
    command: list[str], port: int, health: str, env: dict[str, str], log: Path
) -> tuple[subprocess.Popen[bytes], float]:
    """Start a server in its own session; return it and the seconds until `health` answered 200."""
    start = time.perf_counter()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = start + 120
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:3]} exited: {log.read_text()[-2000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", health)
            if connection.getresponse().status == 200:
                return process, time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{command[:3]} not healthy in 120 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server's process group, killing it if it has not exited within 10 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def load(
    port: int, body: bytes, concurrency: int, requests: int, seconds: float
) -> dict[str, float]:
    """Send at most `requests` requests (or for `seconds`) over `concurrency` keep-alive connections."""
    latencies: list[float] = []
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            call(connection, "/invocations", body)
            with lock:
                latencies.append(time.perf_counter() - start)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": 1000 * statistics.median(latencies),
        "p99": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def main() -> None:
    """Serve the champion with both servers in turn, drive each with the same load, print the results."""
    parser = project_parser(__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    project = run_in_project(args.project)
    name = package(project).__name__
    settings_module = __import__(f"{name}.settings", fromlist=["load_settings"])
    os.chdir(project)
    settings = settings_module.load_settings()

    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.resolved_tracking_uri)
    try:
        client.get_model_version_by_alias(settings.model_name, "champion")
    except MlflowException:
        subprocess.run([project / ".venv/bin" / project.name, "promote"], check=True)
    rows = pd.read_csv(settings.data_dir / "prepared/test.csv").drop(columns=["target"])
    bodies = {
        size: json.dumps(
            {"dataframe_split": json.loads(rows.head(size).to_json(orient="split", index=False))}
        ).encode()
        for size in (1, 100)
    }
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri}
    # `mlflow models serve` execs `uvicorn` from PATH.
    env["PATH"] = f"{project / '.venv/bin'}{os.pathsep}{env['PATH']}"
    python = str(project / ".venv/bin/python")
    servers = {
        "this project": (
            [
                python,
                "-m",
                "uvicorn",
                f"{name}.serving.app:app_from_environment",
                "--factory",
                "--no-access-log",
            ],
            "/health",
        ),
        "mlflow models serve": (
            [
                python,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                f"models:/{settings.model_name}@champion",
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
            ],
            "/ping",
        ),
    }
    # Per server: seconds to the first healthy answer, and the load results per (rows, concurrency).
    ready: dict[str, float] = {}
    results: dict[str, dict[tuple[int, int], dict[str, float]]] = {}
    answers = {}
    for label, (command, health) in servers.items():
        port = free_port()
        flag = ["--port", str(port)] if label == "this project" else ["-p", str(port)]
        process, ready[label] = launch(
            [*command, *flag], port, health, env, settings.log_dir / "bench-serve.log"
        )
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            answers[label] = call(connection, "/invocations", bodies[100])
            cells = {
                (size, concurrency): load(
                    port, bodies[size], concurrency, args.requests, args.seconds
                )
                for size in (1, 100)
                for concurrency in (1, 8)
            }
        finally:
            stop(process)
        results[label] = cells
    ours, theirs = results["this project"], results["mlflow models serve"]
    same = answers["this project"] == answers["mlflow models serve"]
    print(f"identical predictions on 100 rows: {same}")
    print(f"\n{'server':<22}{'rows':>5}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for label, result in results.items():
        for size, concurrency in ((1, 1), (1, 8), (100, 1), (100, 8)):
            cell = result[(size, concurrency)]
            print(
                f"{label:<22}{size:>5}{concurrency:>5}{cell['rps']:>9.1f}{cell['p50']:>9.2f}{cell['p99']:>9.2f}"
            )
    print(f"\n{'time to first healthy answer':<34}{'this project':>14}{'mlflow':>10}")
    print(f"{'':<34}{ready['this project']:>13.2f}s{ready['mlflow models serve']:>9.2f}s")
    print("\nthroughput ratio (this project / mlflow models serve):")
    for key in ((1, 1), (1, 8), (100, 1), (100, 8)):
        print(
            f"  {key[0]:>3} rows, concurrency {key[1]}: {ours[key]['rps'] / theirs[key]['rps']:.2f}x (goal >= 2x)"
        )
    if not same:
        raise SystemExit("predictions differ between the two servers")


if __name__ == "__main__":
    main()
