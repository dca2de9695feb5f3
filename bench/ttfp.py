"""Benchmark the time to a first prediction: bake, install, train, deploy, first /invocations answer.

    .venv/bin/python bench/ttfp.py [--cold] [--bytecode {eager,lazy}]

Bakes the default answers into a temporary folder (with the package index tests use) and times each phase
of what a new user types (the quick start): `make train` (its runtime install, `make .venv/.runtime`, timed
apart, then the pipeline), `make deploy`, then polls `/invocations` with the model's serving example until it
answers 200. `--cold` gives Poetry an empty cache folder (every package is downloaded); by default its own
cache is used (warm). `--bytecode eager` compiles everything after the install (what the Makefile does where
PYTHONDONTWRITEBYTECODE is set, as in containers and CI); `lazy` unsets that variable, so Python writes
bytecode for what it imports (a laptop); the default keeps the environment as it is. Anchors, measured in the
same run: a bare `poetry install --only main` of the same lock into a second copy (no bytecode step), and
`mlflow models serve` on the champion from start to its first answer, beside the project's deploy.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import QUIET_ENV, REPO, project_parser

sys.path.insert(0, str(REPO))
from tests.index_url import package_index_url


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Seconds one command takes (it must succeed; its output is shown only on failure)."""
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{completed.stdout[-3000:]}{completed.stderr[-3000:]}"
        )
    return time.perf_counter() - start


def first_answer(url: str, payload: bytes, deadline: float) -> float:
    """Seconds until `url` answers the payload with 200 (polling), measured from now."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline:
        request = urllib.request.Request(
            url, data=payload, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} gave no prediction within {deadline:.0f}s")


def serving_example(project: Path, env: dict[str, str]) -> bytes:
    """The champion's serving example, as the project's own deploy smoke-tests with it."""
    code = (
        "import json, mlflow, pathlib;"
        "from tumor_classifier.settings import load_settings;"
        "from tumor_classifier.tracking.store import connect;"
        "s = load_settings(); connect(s);"
        "p = mlflow.artifacts.download_artifacts("
        "f'models:/{s.model_name}@champion/serving_input_example.json');"
        "print(pathlib.Path(p).read_text())"
    )
    python = str(project / ".venv/bin/python")
    output = subprocess.run(
        [python, "-c", code], cwd=project, env=env, capture_output=True, text=True, check=True
    ).stdout
    return json.dumps(json.loads(output)).encode()


def mlflow_serve_start(project: Path, env: dict[str, str], payload: bytes) -> float:
    """Seconds from starting `mlflow models serve` on the champion to its first prediction."""
    port = free_port()
    command = [
        str(project / ".venv/bin/mlflow"), "models", "serve", "-m", "models:/tumor-classifier@champion",
        "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    serve_env = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{project / '.mlflow/mlflow.db'}"}
    serve_env["PATH"] = f"{project / '.venv/bin'}{os.pathsep}{serve_env['PATH']}"
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=project, env=serve_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        first_answer(f"http://127.0.0.1:{port}/invocations", payload, deadline=180)
        return time.perf_counter() - start
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=30)


def main() -> None:
    """Bake, install, train, deploy and predict once, timing each phase; print them with the anchors."""
    parser = project_parser(__doc__)
    parser.add_argument(
        "--cold", action="store_true", help="start Poetry with an empty cache folder"
    )
    parser.add_argument("--bytecode", choices=("eager", "lazy"), default=None)
    args = parser.parse_args()
    env = {**os.environ, **QUIET_ENV}
    env.pop("VIRTUAL_ENV", None)
    if args.bytecode == "eager":
        env["COMPILE"] = "yes"
    elif args.bytecode == "lazy":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["COMPILE"] = ""
    bytecode = "eager" if env.get("COMPILE") or env.get("PYTHONDONTWRITEBYTECODE") else "lazy"
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # this venv's Poetry
    with tempfile.TemporaryDirectory() as scratch:
        if args.cold:
            env["POETRY_CACHE_DIR"] = str(Path(scratch) / "poetry-cache")
        phases: dict[str, float] = {}
        bake = [str(Path(sys.executable).parent / "cookiecutter"), str(REPO), "--no-input", "-o", scratch,
                f"package_index_url={package_index_url()}"]  # fmt: skip
        phases["bake"] = run(bake, Path(scratch), env)
        project = Path(scratch) / "tumor-classifier"
        bare = Path(scratch) / "bare-install"
        shutil.copytree(project, bare, ignore=shutil.ignore_patterns(".git"))
        phases["make train: runtime install"] = run(["make", ".venv/.runtime"], project, env)
        phases["make train: pipeline"] = run(["make", "train"], project, env)
        port = free_port()
        deploy_env = {**env, "TUMOR_CLASSIFIER_SERVE_PORT": str(port)}
        phases["make deploy"] = run(["make", "deploy"], project, deploy_env)
        payload = serving_example(project, env)
        phases["first /invocations answer"] = first_answer(
            f"http://127.0.0.1:{port}/invocations", payload, deadline=30
        )
        run(["make", "undeploy"], project, deploy_env)
        shutil.copy(project / "poetry.lock", bare / "poetry.lock")
        bare_env = {**env, "POETRY_VIRTUALENVS_IN_PROJECT": "true"}
        anchors = {
            "bare `poetry install --only main` (same lock)": run(
                ["poetry", "install", "--all-extras", "--only", "main"], bare, bare_env
            ),
            "`mlflow models serve` start to first answer": mlflow_serve_start(
                project, env, payload
            ),
        }
    total = sum(phases.values())
    cache = "cold" if args.cold else "warm"
    print(f"time to first prediction, {cache} Poetry cache, {bytecode} bytecode\n")
    for name, seconds in phases.items():
        print(f"  {name:<44}{seconds:>8.1f} s  {100 * seconds / total:>4.0f}%")
    print(f"  {'total':<44}{total:>8.1f} s")
    print("\nanchors, same run:")
    for name, seconds in anchors.items():
        print(f"  {name:<44}{seconds:>8.1f} s")
    print(
        f"\n  runtime install / bare poetry install: {phases['make train: runtime install'] / anchors['bare `poetry install --only main` (same lock)']:.2f}x"
    )
    deploy_to_answer = phases["make deploy"] + phases["first /invocations answer"]
    print(
        f"  make deploy + first answer / mlflow models serve: {deploy_to_answer / anchors['`mlflow models serve` start to first answer']:.2f}x"
    )


if __name__ == "__main__":
    main()
