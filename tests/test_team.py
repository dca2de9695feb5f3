"""Team mode (`tracking=server`): the bake's stack, and the slow scenarios against real servers on 127.0.0.1.

The slow tests start a real PostgreSQL (as an unprivileged user: it refuses to run as root), the project's own
`make tracking-server` on top of it, and moto's S3 server as the stand-in for an object store (the only
S3-compatible server installable here).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests.conftest import (
    TEMPLATE,
    Bake,
    background_server,
    free_port,
    http,
    project_env,
    project_python,
    run_make,
    wait_for,
)
from tests.e2e import PYFUNC_PREDICTIONS
from tests.index_url import package_index_url
from tests.test_workflows import validate

PREFIX = "TUMOR_CLASSIFIER_"
SERVER_TARGETS = ("tracking-db", "tracking-server", "data-push", "data-pull", "data-remote")


def make_targets(project: Path) -> set[str]:
    """The targets `make help` lists."""
    listing = run_make(project, "help").stdout
    return {line.split()[0] for line in listing.splitlines() if line.strip()}


def settings_fields(project: Path) -> set[str]:
    """The setting names the baked Settings class declares (its annotated fields)."""
    source = (project / "src/tumor_classifier/settings.py").read_text()
    body = source.split("class Settings(BaseSettings):", 1)[1].split("\n    @", 1)[0]
    return set(re.findall(r"^    (\w+): ", body, flags=re.MULTILINE)) - {"model_config"}


def test_a_server_bake_has_the_team_stack(bake: Bake) -> None:
    """compose.yaml is valid Compose and sets only real settings; the driver, targets and remote are there."""
    project = bake(tracking="server")
    validate("vendor.compose-spec", project / "compose.yaml")
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    server = compose["services"]["tracking-server"]
    assert server["build"]["dockerfile"] == "tracking-server.Dockerfile"
    assert (project / server["build"]["dockerfile"]).is_file()
    assert server["ports"] == ["127.0.0.1:5000:5000"], "published on this machine only by default"
    keys = {key.removeprefix(PREFIX).lower() for key in server["environment"]}
    assert keys <= settings_fields(project), keys - settings_fields(project)
    assert set(SERVER_TARGETS) | {"tracking-sync"} <= make_targets(project)
    dependencies = (project / "pyproject.toml").read_text()
    assert '"psycopg[binary]' in dependencies
    assert '"dvc[s3]' in dependencies
    assert "\n['remote \"team\"']\n" in (project / ".dvc/config").read_text()
    names = (project / "src/tumor_classifier/names.py").read_text()
    assert 'DEFAULT_TRACKING_URI: str | None = "http://127.0.0.1:5000"' in names
    ci = (project / ".github/workflows/ci.yml").read_text()
    assert f'{PREFIX}TRACKING_URI: ""' in ci, "CI trains against a throwaway store, not the team's"
    example = (project / ".env.example").read_text()
    for key in ("TRACKING_SERVER_BACKEND_URI", "TRACKING_SERVER_ALLOWED_HOSTS"):
        assert f"# {PREFIX}{key}=" in example


def test_a_local_bake_has_none_of_the_server_files(bake: Bake) -> None:
    """Only the spool's sync (useful whenever a server is set later in .env) is shared."""
    project = bake(tracking="local")
    assert not (project / "compose.yaml").exists()
    assert not (project / "tracking-server.Dockerfile").exists()
    targets = make_targets(project)
    assert "tracking-sync" in targets
    assert not targets & set(SERVER_TARGETS)
    assert "psycopg" not in (project / "pyproject.toml").read_text()
    assert "remote" not in (project / ".dvc/config").read_text()
    assert "TRACKING_URI" not in (project / ".github/workflows/ci.yml").read_text()


# --- slow: real PostgreSQL, a real MLflow tracking server, moto's S3 server ------------------------------------


def postgres_binary(name: str) -> str:
    """initdb/pg_ctl: on PATH, or where Debian's postgresql package puts them."""
    found = shutil.which(name) or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))), None
    )
    if found is None:
        pytest.fail(f"PostgreSQL is not installed ({name}): apt-get install postgresql")
    return found


@pytest.fixture(scope="module")
def postgres() -> Iterator[int]:
    """A PostgreSQL server on a free loopback port, run by an unprivileged user; yields the port."""
    user: str | None = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        user = "pgtest"
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--create-home", user], check=True)
    folder = Path(tempfile.mkdtemp(prefix="pg-"))
    if user is not None:
        shutil.chown(folder, user)
    port = free_port()

    def as_postgres(*command: str) -> None:
        subprocess.run(command, check=True, user=user, cwd=folder, capture_output=True)

    as_postgres(postgres_binary("initdb"), "-D", f"{folder}/data", "-U", "mlflow", "--auth=trust")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    pg_ctl = postgres_binary("pg_ctl")
    as_postgres(
        pg_ctl, "-D", f"{folder}/data", "-o", options, "-l", f"{folder}/pg.log", "-w", "start"
    )
    yield port
    as_postgres(pg_ctl, "-D", f"{folder}/data", "-m", "fast", "stop")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """Moto's S3 server on a free loopback port (the stand-in for an object store); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)]
    with background_server(moto, f"{url}/moto-api/"):
        yield url


class TrackingServer:
    """The project's `make tracking-server`, in its own process group so a stop reaches its workers."""

    def __init__(self, project: Path, url: str) -> None:
        self.project, self.url = project, url
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server and wait for /health (the first start migrates the schema)."""
        self.process = subprocess.Popen(
            ["make", "tracking-server"],
            cwd=self.project,
            env=project_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(f"{self.url}/health", 120)

    def kill(self) -> None:
        """Kill the whole server at once, as a crash or a pulled plug would."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def rest(server: TrackingServer, endpoint: str, payload: dict[str, Any] | None = None) -> Any:
    """Call the tracking server's REST API: GET with a query, or POST JSON."""
    status, answer = http(f"{server.url}/api/2.0/mlflow/{endpoint}", payload)
    assert status == 200, answer
    return answer


@pytest.fixture(scope="module")
def team_project(
    tmp_path_factory: pytest.TempPathFactory, postgres: int
) -> Iterator[tuple[Path, TrackingServer]]:
    """A `tracking=server` bake, installed, its database made by `make tracking-db`, its server running."""
    out = tmp_path_factory.mktemp("team")
    project = Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context={"tracking": "server", "package_index_url": package_index_url()},
            output_dir=str(out),
        )
    )
    port = free_port()
    settings = {
        "TRACKING_URI": f"http://127.0.0.1:{port}",
        "TRACKING_SERVER_PORT": str(port),
        "TRACKING_SERVER_BACKEND_URI": f"postgresql+psycopg://mlflow@127.0.0.1:{postgres}/team",
        "SERVE_PORT": str(free_port()),
    }
    (project / ".env").write_text("".join(f"{PREFIX}{k}={v}\n" for k, v in settings.items()))
    run_make(project, "install")
    created = run_make(project, "tracking-db")
    assert "created: postgresql+psycopg://mlflow@127.0.0.1" in created.stdout
    assert "already there" in run_make(project, "tracking-db").stdout, "safe to repeat"
    server = TrackingServer(project, settings["TRACKING_URI"])
    server.start()
    try:
        yield project, server
    finally:
        run_make(project, "undeploy", check=False)
        server.kill()


@pytest.mark.slow
def test_a_team_project_trains_and_deploys_through_the_server(
    team_project: tuple[Path, TrackingServer],
) -> None:
    """Runs, plugin tags, the registered model and its alias are on the server; deploy serves from it."""
    project, server = team_project
    run_make(project, "train")
    run_make(project, "deploy")

    experiment = rest(server, "experiments/get-by-name?experiment_name=Tumor+Classifier")
    experiment_id = experiment["experiment"]["experiment_id"]
    runs = rest(server, "runs/search", {"experiment_ids": [experiment_id]})["runs"]
    (train,) = [run for run in runs if run["info"]["run_name"] == "train"]
    assert train["info"]["status"] == "FINISHED"
    assert train["info"]["artifact_uri"].startswith("mlflow-artifacts:/"), "proxied by the server"
    tags = {tag["key"] for tag in train["data"]["tags"]}
    assert {"tumor_classifier.git.commit", "tumor_classifier.params.sha256"} <= tags
    model = rest(server, "registered-models/get?name=tumor-classifier")["registered_model"]
    assert {alias["alias"] for alias in model["aliases"]} == {"champion"}

    serve_port = (project / ".env").read_text().split(f"{PREFIX}SERVE_PORT=")[1].split()[0]
    expected = project_python(project, PYFUNC_PREDICTIONS)
    status, answer = http(
        f"http://127.0.0.1:{serve_port}/invocations", {"dataframe_split": expected["split"]}
    )
    assert (status, answer) == (200, {"predictions": expected["predictions"]})
    run_make(project, "undeploy")


SLOW_TRAINING = """
import sys, time
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking import tracked_run
from tumor_classifier.tracking.store import connect, project_experiment_id

settings = load_settings()
experiment_id = project_experiment_id(settings, connect(settings))
with tracked_run("slow", params={"steps": 150}, experiment_id=experiment_id) as run:
    run.metrics.flush_interval = 0.2
    print(run.run_id, flush=True)
    for step in range(150):
        run.log_metrics({"loss": 1 / (step + 1), "accuracy": step / 150}, step=step)
        print(step, flush=True)
        time.sleep(0.04)
"""


@pytest.mark.slow
def test_a_run_cut_off_by_the_server_is_spooled_and_synced_once(
    team_project: tuple[Path, TrackingServer],
) -> None:
    """Kill the server mid-run: the rest goes to the spool; `make tracking-sync` replays it exactly once."""
    project, server = team_project
    script = project / "slow_training.py"
    script.write_text(SLOW_TRAINING)
    training = subprocess.Popen(
        [project / ".venv/bin/python", script],
        cwd=project,
        env=project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert training.stdout is not None
    run_id = training.stdout.readline().strip()
    progress = iter(training.stdout.readline, "")  # ends when the script does
    assert "30" in (line.strip() for line in progress), "the training died before step 30"
    server.kill()
    _, stderr = training.communicate(timeout=120)

    assert training.returncode == 1
    assert f"run {run_id} was interrupted" in stderr
    assert "make tracking-sync" in stderr
    assert (project / f".mlflow/spool/{run_id}.jsonl").is_file()

    server.start()
    synced = run_make(project, "tracking-sync").stdout
    assert f"run {run_id}: sent" in synced

    def history(key: str) -> list[int]:
        found = rest(server, f"metrics/get-history?run_id={run_id}&metric_key={key}")
        return sorted(point["step"] for point in found["metrics"])

    assert history("loss") == list(range(150)), "every point once, none missing"
    assert history("accuracy") == list(range(150))
    run = rest(server, f"runs/get?run_id={run_id}")["run"]
    assert run["info"]["status"] == "FINISHED", "the status the run itself ended with"

    again = run_make(project, "tracking-sync").stdout
    assert "nothing to sync" in again
    assert history("loss") == list(range(150))
    script.unlink()


def dvc_status(project: Path) -> str:
    """`dvc status` of a project, with its own DVC."""
    completed = subprocess.run(
        [project / ".venv/bin/dvc", "status"], cwd=project, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


@pytest.mark.slow
def test_data_travels_through_the_remote_to_a_fresh_clone(
    team_project: tuple[Path, TrackingServer], s3_server: str
) -> None:
    """Push to the default folder remote, pull in a fresh clone; then the same through S3 (moto).

    The project is put back afterwards, as the other tests of the module expect it, in any order.
    """
    import boto3

    project, _ = team_project
    run_make(project, "train")  # the data and models to push (a no-op after the training test)
    subprocess.run(["git", "add", "--all"], cwd=project, check=True)
    # The lock files and DVC's records of the trained pipeline (the project's hooks are other tests' business).
    subprocess.run(
        ["git", "commit", "--quiet", "--no-verify", "-m", "Trained"], cwd=project, check=True
    )
    run_make(project, "data-push")
    remote = project.parent / "tumor-classifier-dvc-remote"
    assert any(remote.rglob("*")), "the folder remote beside the project holds the data"

    # A teammate's fresh clone, at the same path, with the installed environment carried over (this saves a
    # second install; the venv's scripts name this path).
    original = project.with_name("original")
    project.rename(original)
    try:
        subprocess.run(["git", "clone", "--quiet", original, project], check=True)
        (original / ".venv").rename(project / ".venv")
        shutil.copy(original / ".env", project / ".env")
        for marker in (".venv/.runtime", ".venv/.installed"):
            (project / marker).touch()
        assert not (project / "data/prepared").exists(), "a clone has only the DVC records"
        run_make(project, "data-pull")
        assert (project / "data/prepared/train.csv").is_file()
        assert (project / "models").is_dir()
        assert "up to date" in dvc_status(project)

        credentials = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        bucket = boto3.client(
            "s3",
            endpoint_url=s3_server,
            region_name=credentials["AWS_DEFAULT_REGION"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
        bucket.create_bucket(Bucket="team-data")
        run_make(
            project,
            "data-remote",
            "URL=s3://team-data/dvc",
            f"ENDPOINT={s3_server}",
            env=credentials,
        )
        run_make(project, "data-push", env=credentials)
        stored = bucket.list_objects_v2(Bucket="team-data").get("Contents", [])
        assert stored, "the object store holds the data"
        for folder in ("data/raw", "data/prepared", "models/model", ".dvc/cache"):  # what DVC keeps
            shutil.rmtree(project / folder)
        run_make(project, "data-pull", env=credentials)
        assert "up to date" in dvc_status(project)
    finally:  # the clone goes and the project comes back: the server keeps its artifacts in the project
        if (project / ".venv").exists():
            (project / ".venv").rename(original / ".venv")
        shutil.rmtree(project)
        original.rename(project)


# Trials long enough (thousands of boosting rounds, one thread each) to be killed in the middle of one.
LONG_TRIALS = "    max_iter: {low: 4000, high: 6000, step: 500}\n"


def worker_runs(server: TrackingServer, experiment_id: str) -> list[dict[str, Any]]:
    """The tune-worker runs and the trial runs of the project's experiment on the server."""
    found = rest(
        server,
        "runs/search",
        {
            "experiment_ids": [experiment_id],
            "filter": "tags.`optuna.study` != ''",
            "max_results": 500,
        },
    )
    return list(found.get("runs", []))


def tags_of(run: dict[str, Any]) -> dict[str, str]:
    """A REST run's tags as a mapping."""
    return {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}


def running_trial_of(server: TrackingServer, experiment_id: str, pid: int) -> str | None:
    """The trial number the worker process `pid` is running now (its trial run is RUNNING), if any."""
    runs = worker_runs(server, experiment_id)
    workers = {
        run["info"]["run_id"]
        for run in runs
        if tags_of(run).get("optuna.worker", "").endswith(f":{pid}")
    }
    for run in runs:
        tags = tags_of(run)
        if tags.get("mlflow.parentRunId") in workers and run["info"]["status"] == "RUNNING":
            return tags.get("optuna.trial")
    return None


EXPERIMENT_ID = """
import json
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import connect, project_experiment_id
s = load_settings()
print(json.dumps(project_experiment_id(s, connect(s))))
"""

STUDY_STATES = """
import json, optuna
from tumor_classifier.pipeline.params import load_params
from tumor_classifier.settings import load_settings
from tumor_classifier.tuning.search import Search
from tumor_classifier.tuning.storage import open_storage, storage_location
s = load_settings()
search = Search.of(s, load_params(s.params_file))
study = optuna.load_study(study_name=search.name, storage=open_storage(s))
print(json.dumps({"storage": storage_location(s).split("@")[-1], "trials": [
    [t.number, t.state.name, t.system_attrs.get("failed_trial")] for t in study.trials]}))
"""


@pytest.mark.slow
def test_three_workers_share_one_study_and_a_killed_ones_trial_is_retried(
    team_project: tuple[Path, TrackingServer], postgres: int
) -> None:
    """Three `tune-worker` processes on the team's PostgreSQL; one is SIGKILLed mid-trial.

    Optuna's heartbeat marks the dead worker's trial FAIL and its retry callback queues it again; the next
    worker runs the retry; the project ends the dead trial's run and the dead worker's run KILLED.
    """
    project, server = team_project
    params = project / "params.yaml"
    shipped = params.read_text()
    params.write_text(re.sub(r"    max_iter: \{low: [^}]*\}\n", LONG_TRIALS, shipped))
    experiment_id = project_python(project, EXPERIMENT_ID)  # created if no test trained before
    worker = [str(project / ".venv/bin/tumor-classifier"), "tune", "worker", "--trials", "2"]
    env = {**project_env(), "OMP_NUM_THREADS": "1"}  # three workers share two cores
    workers: list[subprocess.Popen[str]] = []
    try:
        run_make(project, "data")
        workers = [
            subprocess.Popen(
                worker,
                cwd=project,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        victim = workers[0]
        deadline = time.monotonic() + 120
        killed = None
        while killed is None and time.monotonic() < deadline:
            killed = running_trial_of(server, experiment_id, victim.pid)
            time.sleep(0.5)
        assert killed is not None, "the first worker never started a trial"
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        for survivor in workers[1:]:
            _, errors = survivor.communicate(timeout=600)
            assert survivor.returncode == 0, errors[-3000:]
        time.sleep(16)  # past the heartbeat's grace period (15 s), whenever the survivors finished
        run_make(project, "tune-worker", "TRIALS=1", env={"OMP_NUM_THREADS": "1"})

        study = project_python(project, STUDY_STATES)
        assert study["storage"] == f"127.0.0.1:{postgres}/optuna", "the team's database"
        states = {number: state for number, state, _ in study["trials"]}
        assert set(states.values()) <= {"COMPLETE", "PRUNED", "FAIL"}, states
        assert states[int(killed)] == "FAIL"
        retries = [number for number, _, retried in study["trials"] if retried == int(killed)]
        assert retries, f"trial {killed} was queued again"
        runs = worker_runs(server, experiment_id)
        assert [run for run in runs if run["info"]["status"] == "RUNNING"] == []
        trial_runs = {tags_of(run).get("optuna.trial"): run for run in runs}
        dead = trial_runs[killed]
        assert (dead["info"]["status"], tags_of(dead)["optuna.state"]) == ("KILLED", "FAIL")
        assert tags_of(trial_runs[str(retries[0])])["optuna.retry_of"] == killed
        victims = [
            run for run in runs if tags_of(run).get("optuna.worker", "").endswith(f":{victim.pid}")
        ]
        assert [run["info"]["status"] for run in victims] == ["KILLED"]
    finally:
        params.write_text(shipped)
        for process in workers:
            if process.poll() is None:
                process.kill()
