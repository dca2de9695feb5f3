"""Benchmark the project's model server against `mlflow models serve`, same model, same client.

    .venv/bin/python bench/serve.py [--project build/demo/tumor-classifier] [--requests 400]

Runs with the project's interpreter. Serves the registered `champion` (promoting the newest version
first when there is none) on free loopback ports, one server after the other: the project's server with
monitoring on (as `make deploy` runs it: /metrics in multiprocess mode, the request log at its default
rate), the same with monitoring off, and `mlflow models serve`. Each is driven by the same bounded
client: keep-alive connections in threads, 1-row and 100-row `dataframe_split` payloads, concurrency 1
and 8, at most --requests requests or --seconds per cell. The project's monitored server is driven through
the Open Inference Protocol too (`POST /v2/models/<name>/infer`, one tensor per column, same rows, same
client), its cells alternating with /invocations'. It checks that they answer with identical predictions,
and prints requests/s, p50 and p99 latency, and the time from launch to the first healthy answer. Goals:
monitoring costs <= 5% of throughput; >= 2x the throughput of `mlflow models serve`; v2 infer within 10%
of /invocations.

Then, under a steady load of 4 clients, it swaps the running server to another version (what
`make deploy` does) and, for comparison, restarts it cold (stop, start): failed requests and seconds
until the new version answers, for each. Goal: 0 failed requests during a swap.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import package, project_parser, run_in_project

ROUNDS = 5  # alternating rounds per cell when two servers are compared side by side
V2 = "v2 infer (same server)"
PAIRED_LONGER = (
    3  # ... each round this many times --requests: short runs drift more than the difference
)


def v2_request(rows: Any, datatypes: dict[str, str]) -> bytes:
    """An Open Inference Protocol request for `rows`: one tensor per column, as the metadata types it."""
    inputs = [
        {
            "name": name,
            "shape": [len(rows)],
            "datatype": datatype,
            "data": rows[name].tolist(),
        }
        for name, datatype in datatypes.items()
    ]
    return json.dumps({"inputs": inputs}).encode()


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
    port: int,
    path: str,
    body: bytes,
    concurrency: int,
    requests: int,
    seconds: float,
    stop_when: threading.Event | None = None,
) -> dict[str, float]:
    """Send at most `requests` requests (or for `seconds`, or until `stop_when`) over keep-alive connections.

    A failed request is counted (and its connection opened again), not raised.
    """
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    remaining = [requests]
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline and not (stop_when and stop_when.is_set()):
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            try:
                call(connection, path, body)
            except (OSError, RuntimeError, http.client.HTTPException):
                with lock:
                    failures[0] += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                time.sleep(0.01)
                continue
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
    timed = latencies or [0.0]
    return {
        "count": len(latencies),
        "failed": failures[0],
        "rps": len(latencies) / elapsed,
        "p50": 1000 * statistics.median(timed),
        "p99": 1000 * timed[min(len(timed) - 1, int(0.99 * len(timed)))],
    }


def print_monitoring_cost(name: str, settings: Any, rows: Any) -> None:
    """The monitoring work of one request, timed in this process, against the scoring it accompanies.

    Throughput differences of a few percent between two server processes are at the edge of what this
    machine can resolve; this is the same cost, measured without the noise.
    """
    import tempfile

    inference = __import__(f"{name}.model.load", fromlist=["load_model"])
    metrics_module = __import__(f"{name}.serving.metrics", fromlist=["Metrics"])
    log_module = __import__(f"{name}.serving.request_log", fromlist=["RequestLog"])
    model = inference.load_model(settings)
    metrics = metrics_module.Metrics(classifier=hasattr(model.native, "predict_proba"))
    print(
        "\nmonitoring work per request, in process (metrics, and the request log at its default rate):"
    )
    with tempfile.TemporaryDirectory() as folder:
        log = log_module.RequestLog(Path(folder), 1.0, settings.serve_request_log_rows)
        for size in (1, 100):
            frame = rows.head(size)
            repeats = 2000 if size == 1 else 300
            start = time.perf_counter()
            for _ in range(repeats):
                predictions = model.predict(frame)
            scoring = (time.perf_counter() - start) / repeats
            start = time.perf_counter()
            for _ in range(repeats):
                metrics.requests.labels("/invocations", "200", model.version, "champion").inc()
                metrics.latency.labels("/invocations", model.version).observe(0.002)
                metrics.scored(model.version, "champion", predictions)
            counted = (time.perf_counter() - start) / repeats
            start = time.perf_counter()
            for _ in range(repeats // 10):
                log.write(frame, predictions, model.version, "champion")
            logged = (
                (time.perf_counter() - start) / (repeats // 10) * settings.serve_request_log_rate
            )
            cost = counted + logged
            print(
                f"  {size:>3} rows: {cost * 1e6:6.1f} us ({counted * 1e6:.1f} metrics + "
                f"{logged * 1e6:.1f} log) = {cost / scoring:.1%} of scoring ({scoring * 1e3:.2f} ms)"
            )


def swap_under_load(
    settings: Any, lifecycle: Any, versions: tuple[str, str], body: bytes
) -> dict[str, dict[str, float]]:
    """Failed requests and seconds to the new version: a swap of the running server, then a cold restart."""
    served = settings.model_copy(update={"serve_port": free_port()})
    old, new = versions
    lifecycle.start(served, old)
    outcomes: dict[str, dict[str, float]] = {}
    try:
        changes: dict[str, Callable[[], object]] = {
            "swap (make deploy)": lambda: lifecycle.swap(served, new),
            "cold restart": lambda: lifecycle.start(served, old),
        }
        for label, change in changes.items():
            done = threading.Event()
            result: dict[str, float] = {}

            def drive(into: dict[str, float], until: threading.Event) -> None:
                into.update(load(served.serve_port, "/invocations", body, 4, 10**9, 300, until))

            client = threading.Thread(target=drive, args=(result, done))
            client.start()
            time.sleep(1.0)
            started = time.perf_counter()
            change()
            seconds = time.perf_counter() - started
            time.sleep(1.0)
            done.set()
            client.join()
            outcomes[label] = {"seconds": seconds, **result}
    finally:
        lifecycle.stop(lifecycle.ServerPaths.of(served))
    return outcomes


def main() -> None:
    """Serve the champion with each server in turn, drive each with the same load, print the results."""
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
    v2_path = f"/v2/models/{settings.model_name}/infer"
    v2_bodies: dict[int, bytes] = {}
    env = {**os.environ, "MLFLOW_TRACKING_URI": settings.resolved_tracking_uri}
    # `mlflow models serve` execs `uvicorn` from PATH.
    env["PATH"] = f"{project / '.venv/bin'}{os.pathsep}{env['PATH']}"
    python = str(project / ".venv/bin/python")
    ours = [
        python, "-m", "uvicorn", f"{name}.serving.app:app_from_environment", "--factory",
        "--no-access-log",
    ]  # fmt: skip
    prefix = __import__(f"{name}.names", fromlist=["ENV_PREFIX"]).ENV_PREFIX
    metrics_dir = settings.mlflow_dir / "bench-metrics"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    # As `make deploy` runs it: multiprocess metrics, the request log at its default rate.
    monitored = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    unmonitored = {f"{prefix}SERVE_METRICS": "false", f"{prefix}SERVE_REQUEST_LOG_RATE": "0"}
    server_env = {"this project": monitored, "monitoring off": unmonitored}
    servers = {
        "this project": (ours, "/health"),
        "monitoring off": (ours, "/health"),
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
    # The project's server with and without monitoring run at the same time, their cells alternating
    # (best of ROUNDS each, in alternating order): the difference between them is a few percent, less than the machine's drift.
    # The v2 route is driven on the monitored server itself, alternating with its /invocations.
    groups = [["this project", "monitoring off"], ["mlflow models serve"]]
    for group in groups:
        running: dict[str, tuple[subprocess.Popen[bytes] | None, int]] = {}
        try:
            for label in group:
                command, health = servers[label]
                port = free_port()
                flag = (
                    ["-p", str(port)] if label == "mlflow models serve" else ["--port", str(port)]
                )
                process, ready[label] = launch(
                    [*command, *flag],
                    port,
                    health,
                    {**env, **server_env.get(label, {})},
                    settings.log_dir / "bench-serve.log",
                )
                running[label] = (process, port)
                connection = http.client.HTTPConnection("127.0.0.1", port)
                answers[label] = call(connection, "/invocations", bodies[100])
                if label == "this project":
                    inputs = call(connection, f"/v2/models/{settings.model_name}")["inputs"]
                    datatypes = {item["name"]: item["datatype"] for item in inputs}
                    v2_bodies.update(
                        {size: v2_request(rows.head(size), datatypes) for size in (1, 100)}
                    )
                    running[V2] = (None, port)
                    answers[V2] = {
                        "predictions": call(connection, v2_path, v2_bodies[100])["outputs"][0][
                            "data"
                        ]
                    }
            rounds = ROUNDS if len(group) > 1 else 1
            for size in (1, 100):
                for concurrency in (1, 8):
                    for round_number in range(rounds):
                        order = list(running.items())
                        if round_number % 2:  # neither server always goes first
                            order.reverse()
                        for label, (_, port) in order:
                            requests = args.requests * (PAIRED_LONGER if rounds > 1 else 1)
                            path, body = (
                                (v2_path, v2_bodies[size])
                                if label == V2
                                else ("/invocations", bodies[size])
                            )
                            cell = load(port, path, body, concurrency, requests, args.seconds)
                            best = results.setdefault(label, {}).get((size, concurrency))
                            if best is None or cell["rps"] > best["rps"]:
                                results[label][(size, concurrency)] = cell
        finally:
            for launched, _ in running.values():
                if launched is not None:
                    stop(launched)
    mine, bare, theirs = (results[label] for label in servers)
    same = len({json.dumps(answer) for answer in answers.values()}) == 1
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
    print("\nthroughput ratios, per cell (rows, concurrency):")
    print(f"  {'cell':<10}{'monitoring on/off':>19}{'vs mlflow models serve':>24}")
    for key in ((1, 1), (1, 8), (100, 1), (100, 8)):
        cost = mine[key]["rps"] / bare[key]["rps"]
        print(f"  {key!s:<10}{cost:>18.3f}x{mine[key]['rps'] / theirs[key]['rps']:>23.2f}x")
    print("  goals: monitoring on/off >= 0.95x; vs mlflow models serve >= 2x")
    print("\nOpen Inference Protocol (v2 infer) vs /invocations, same server, rows and client:")
    for key in ((1, 1), (1, 8), (100, 1), (100, 8)):
        print(f"  {key!s:<10}{results[V2][key]['rps'] / mine[key]['rps']:>18.3f}x")
    print("  goal: >= 0.9x")
    print_monitoring_cost(name, settings, rows)

    lifecycle = __import__(f"{name}.deploy.server", fromlist=["start"])
    versions = sorted(
        (str(v.version) for v in client.search_model_versions(f"name='{settings.model_name}'")),
        key=int,
    )
    champion = str(client.get_model_version_by_alias(settings.model_name, "champion").version)
    other = next((v for v in reversed(versions) if v != champion), None)
    if other is None:
        print(
            "\nhot swap: skipped, the registry has one version only (make train DVC_FLAGS=--force)"
        )
    else:
        outcomes = swap_under_load(settings, lifecycle, (champion, other), bodies[1])
        print(f"\nchanging version {champion} -> {other} under 4 clients, 1-row requests:")
        print(f"  {'':<20}{'seconds':>9}{'failed':>8}{'answered':>10}")
        for label, outcome in outcomes.items():
            print(
                f"  {label:<20}{outcome['seconds']:>9.2f}{outcome['failed']:>8.0f}"
                f"{outcome['count']:>10.0f}"
            )
        print("  goal: 0 failed during a swap")
    if not same:
        raise SystemExit("predictions differ between the two servers")


if __name__ == "__main__":
    main()
