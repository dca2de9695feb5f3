"""The serving image of a trained bake: `make image` with podman, run by podman, by buildah and by `podman kube play` (slow).

No Docker engine here: podman (vfs storage, the runc runtime) builds the project's own Dockerfile once, on a
Debian base image that buildah makes with debootstrap, with a stock Poetry that installs the export plugin for
the project itself; `make image-run` serves it with podman, and buildah runs the same image (the engines share
one image store) on the host's network. `.ci/run` installs all three.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    background_server,
    debian_mirror,
    free_port,
    http,
    project_env,
    project_python,
    run_make,
    wait_for,
)
from tests.e2e import PYFUNC_PREDICTIONS, deploy_state

pytestmark = pytest.mark.slow

BASE_IMAGE = (
    "localhost/debian-python:bookworm"  # Debian 12's Python 3.11: the bake's default python_version
)
BUILDAH = ["buildah", "--storage-driver", "vfs"]
# runc: crun refuses this machine's hybrid cgroups.
PODMAN = ["podman", "--storage-driver", "vfs", "--runtime", "runc"]
IMAGE_ENV = {"IMAGE_BUILDER": " ".join(PODMAN), "IMAGE_BASE": BASE_IMAGE}
# What must never travel into the image: the project's data, runs, environment, secrets and records.
KEPT_OUT = {".env", ".mlflow", ".venv", ".git", "params.yaml", "dvc.lock", "poetry.lock"}
# What the serving image leaves out (distributions of the `pipeline` extra and what only it brings in).
LEFT_OUT = {
    "mlflow",
    "dvc",
    "optuna",
    "optuna-dashboard",
    "pandera",
    "pyarrow",
    "matplotlib",
    "sqlalchemy",
}
# What a registry may store an image's manifest as: Docker's and the OCI's.
MANIFESTS = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)
GOAL_MB = 550  # the image's uncompressed size, at most (the bake's README states it)


def podman(env: dict[str, str], *args: str) -> str:
    """Run podman (vfs storage, runc) with the test's containers.conf: its standard output."""
    completed = subprocess.run(
        [*PODMAN, *args], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert completed.returncode == 0, f"podman {args[0]}: {completed.stderr[-3000:]}"
    return completed.stdout


def buildah(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run buildah on the vfs storage."""
    completed = subprocess.run([*BUILDAH, *args], capture_output=True, text=True)
    if check:
        assert completed.returncode == 0, f"buildah {args[0]}: {completed.stderr[-3000:]}"
    return completed


@pytest.fixture(scope="session")
def base_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Debian 12 image with Python, made with debootstrap (about a minute; kept in buildah's storage)."""
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (Debian packages; .ci/run does)"
    if buildah("inspect", "--type", "image", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    work = tmp_path_factory.mktemp("base-image")
    rootfs = work / "rootfs"
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
         "bookworm", str(rootfs), *debian_mirror()],
        check=True, capture_output=True,
    )  # fmt: skip
    # What names the host or the mirror stays out of the image: apt's sources and lists, the bootstrap log.
    (rootfs / "etc/apt/sources.list").write_text("")
    for leftover in ("var/lib/apt/lists", "var/cache/apt/archives", "var/log"):
        for path in (rootfs / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    context = work / "context"
    context.mkdir()
    with tarfile.open(context / "rootfs.tar", "w") as archive:
        archive.add(rootfs, arcname=".")
    (context / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["python3"]\n')
    buildah("bud", "--isolation", "chroot", "-t", BASE_IMAGE, str(context))
    return BASE_IMAGE


@pytest.fixture(scope="module")
def podman_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The settings podman needs here: no default rlimits (setting them is refused), in a containers.conf of its own."""
    missing = [tool for tool in ("podman", "runc") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (Debian packages; .ci/run does)"
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    return {"CONTAINERS_CONF": str(conf)}


@pytest.fixture(scope="module")
def built(
    installed_project: Path,
    base_image: str,
    podman_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, str, str]]:
    """`make image` of the project's champion with podman and a stock Poetry, once for this module.

    Yields (project, tag, version).
    """
    # What `trained` and `deployable` do, for a fixture shared by the module: the pipeline brought up to date
    # (another test may have left params.yaml pointing back at the shipped data, untrained), no canary.
    run_make(installed_project, "train")
    state = deploy_state(installed_project)
    if state["challenger"] is not None:
        run_make(installed_project, "canary-abort")
    if not state["plain"]:
        run_make(installed_project, "train", "DVC_FLAGS=--force")
    subprocess.run(  # the champion: the newest version of the shipped params (a no-op when it is)
        [installed_project / ".venv/bin/tumor-classifier", "promote"],
        cwd=installed_project, env=project_env(), check=True, capture_output=True,
    )  # fmt: skip
    with stock_poetry(installed_project, tmp_path_factory) as poetry:
        made = run_make(
            installed_project, "image", env={**IMAGE_ENV, **podman_env, "POETRY": poetry}
        )
    print(made.stdout.splitlines()[-1])
    found = re.search(
        r"image (\S+) \(podman\): tumor-classifier version (\d+), ([\d.]+) ?MB, ready \(/v2/health/ready\) ([\d.]+) s after its start",
        made.stdout,
    )
    assert found, made.stdout[-3000:]
    assert float(found[3]) <= GOAL_MB, f"the image is {found[3]} MB"
    tag = f"localhost/{found[1]}"
    try:
        yield installed_project, tag, found[2]
    finally:
        buildah("rmi", tag, check=False)


@contextmanager
def stock_poetry(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Poetry with no plugins (the template's own has the export plugin), as the project sees it.

    What worked: Poetry 2 installs the plugins pyproject.toml requires (`requires-plugins`) into the project's
    `.poetry/plugins` on `poetry install` only (not on `poetry export`), resolved from the project's own package
    index; so a fresh plugin cache and one `poetry install`, then `make image`. The project's earlier plugin
    cache comes back afterwards: the template's Poetry must not load the export plugin twice.
    """
    venv = tmp_path_factory.mktemp("stock-poetry") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    version = importlib.metadata.version("poetry")  # the template's, without its plugins
    subprocess.run(
        [venv / "bin/pip", "install", "--quiet", "--disable-pip-version-check", f"poetry=={version}"],
        check=True, capture_output=True,
    )  # fmt: skip
    listed = subprocess.run([venv / "bin/pip", "list"], capture_output=True, text=True).stdout
    assert "poetry-plugin-export" not in listed, "a stock Poetry: no export plugin of its own"
    poetry, cache, kept = str(venv / "bin/poetry"), project / ".poetry", venv.parent / "kept-poetry"
    if cache.exists():
        cache.rename(kept)
    try:
        subprocess.run([poetry, "install", "--all-extras"], cwd=project, env=project_env(), check=True,
                       capture_output=True)  # fmt: skip
        assert list(
            (cache / "plugins").glob("poetry_plugin_export-*.dist-info")
        ), "installed for the project"
        yield poetry
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        if kept.exists():
            kept.rename(cache)


@contextmanager
def image_run(project: Path, env: dict[str, str]) -> Iterator[int]:
    """`make image-run` on a free port until the block ends, then Ctrl+C: the port it serves on."""
    port = free_port()
    server = subprocess.Popen(
        ["make", "image-run"],
        cwd=project,
        env={**project_env(), **env, "TUMOR_CLASSIFIER_SERVE_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 120)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C: the server stops, the container is removed
        server.wait(60)


def assert_serves_the_champion(project: Path, port: int, version: str) -> None:
    """The server on `port` answers like the registry's champion."""
    status, health = http(f"http://127.0.0.1:{port}/health")
    assert (status, health["version"], health["alias"]) == (200, version, "champion")
    expected = project_python(project, PYFUNC_PREDICTIONS)
    status, answer = http(
        f"http://127.0.0.1:{port}/invocations", {"dataframe_split": expected["split"]}
    )
    assert status == 200
    assert answer == {"predictions": expected["predictions"]}, "same predictions as the registry's"


def listener_uid(port: int) -> int:
    """The user id of the process listening on a loopback port."""
    listing = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    pid = re.search(r"pid=(\d+)", listing)
    assert pid, listing
    status = Path(f"/proc/{pid[1]}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)[1])  # type: ignore[index]


def test_make_image_run_serves_the_champion_with_podman(
    built: tuple[Path, str, str], podman_env: dict[str, str]
) -> None:
    """Podman runs what it built: the champion's predictions on 127.0.0.1; Ctrl+C removes the container."""
    project, tag, version = built
    with image_run(project, {**IMAGE_ENV, **podman_env}) as port:
        assert_serves_the_champion(project, port, version)
    left = podman(podman_env, "ps", "--all", "--format", "{{.Names}}").split()
    assert "tumor-classifier-image-run" not in left
    config = json.loads(buildah("inspect", "--type", "image", tag).stdout)
    assert config["OCIv1"]["config"]["User"] == "10001:10001"
    assert "/v2/health/ready" in " ".join(config["Docker"]["config"]["Healthcheck"]["Test"])


@contextmanager
def local_registry(folder: Path) -> Iterator[str]:
    """A real image registry (Distribution: Debian's docker-registry) on a free loopback port: its address."""
    address = f"127.0.0.1:{free_port()}"
    config = folder / "registry.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder / 'blobs'}\n"
        f"http:\n  addr: {address}\n"
    )
    with background_server(["docker-registry", "serve", str(config)], f"http://{address}/v2/"):
        yield address


def test_make_image_push_puts_the_image_in_a_registry_under_the_digest_it_prints(
    built: tuple[Path, str, str], podman_env: dict[str, str], tmp_path: Path
) -> None:
    """The image pushed to a real registry: tagged with its model version, under the digest the registry has."""
    project, _, version = built
    with local_registry(tmp_path) as address:
        insecure = tmp_path / "registries.conf"  # the local registry speaks plain HTTP
        insecure.write_text(f'[[registry]]\nlocation = "{address}"\ninsecure = true\n')
        env = {**podman_env, "CONTAINERS_REGISTRIES_CONF": str(insecure)}
        target = f"{address}/tumor-classifier:{version}"
        try:
            pushed = run_make(
                project, "image-push", f"IMAGE_REPOSITORY={address}/tumor-classifier", env=env
            )
            found = re.search(
                r"^pushed (\S+) \((sha256:[0-9a-f]{64})\)$", pushed.stdout, re.MULTILINE
            )
            assert found, pushed.stdout[-2000:]
            assert found[1] == target
            manifest = urllib.request.Request(
                f"http://{address}/v2/tumor-classifier/manifests/{version}",
                headers={"Accept": ", ".join(MANIFESTS)},
                method="HEAD",
            )
            with urllib.request.urlopen(manifest, timeout=30) as answer:
                assert (
                    answer.headers["Docker-Content-Digest"] == found[2]
                ), "the digest an attestation names"
        finally:
            podman(env, "rmi", target)  # the tag only: the image itself stays for the other tests


def test_buildah_serves_the_same_image_as_its_own_user(built: tuple[Path, str, str]) -> None:
    """Buildah runs the same image on the host's network: the champion's answers, from user 10001."""
    project, tag, version = built
    record = project / "build/image/image.json"
    podman_built = record.read_text()
    record.write_text(
        json.dumps({"tool": BUILDAH, "tag": tag})
    )  # as `make image` with buildah leaves it
    try:
        with image_run(project, {"BUILDAH_ISOLATION": "chroot"}) as port:
            assert_serves_the_champion(project, port, version)
            assert listener_uid(port) == 10001, "the server runs as the image's own user, not root"
    finally:
        record.write_text(podman_built)


def test_the_image_holds_the_server_and_nothing_else(built: tuple[Path, str, str]) -> None:
    """The champion and the serving dependencies only, and their SBOM where the image's label says.

    No project files, nothing of the pipeline extra; the SBOM lists exactly the installed distributions.
    """
    _, tag, _ = built
    probe = buildah("from", "--name", "image-probe", tag).stdout.strip()
    try:
        root = Path(buildah("mount", probe).stdout.strip())
        assert (root / "model/MLmodel").is_file()
        assert (root / "opt/venv/bin/tumor-classifier").is_file()
        found = [
            str(path.relative_to(root))
            for top in ("app", "model", "opt", "srv", "root", "home", "tmp")
            for path in (root / top).rglob("*")
            if path.name in KEPT_OUT or "data/prepared" in str(path)
        ]
        assert not found, f"project files in the image: {found[:10]}"
        site = next((root / "opt/venv/lib").glob("python3*/site-packages"))
        installed = {
            re.sub(r"[-_.]+", "-", info.name.removesuffix(".dist-info").rsplit("-", 1)[0]).lower()
            for info in site.glob("*.dist-info")
        }
        assert "mlflow-skinny" in installed
        assert not installed & LEFT_OUT, f"the image has {sorted(installed & LEFT_OUT)}"
        labels = json.loads(buildah("inspect", "--type", "image", tag).stdout)["OCIv1"]["config"]
        sbom_path = labels["Labels"]["tumor_classifier.sbom"]
        assert (
            sbom_path == "/usr/share/doc/tumor-classifier/sbom.cdx.json"
        ), "the label names the SBOM"
        sbom = json.loads((root / sbom_path.lstrip("/")).read_text())
        assert sbom["metadata"]["component"]["name"] == "tumor-classifier"
        listed = {component["name"].lower() for component in sbom["components"]}
        assert listed == installed - {
            "tumor-classifier"
        }, "the SBOM lists what the venv holds, no more"
        assert all(
            reference["hashes"]
            for component in sbom["components"]
            for reference in component["externalReferences"]
        ), "with the lock's hashes"
        tuned = buildah(
            "run", "--isolation", "chroot", "--user", "10001:10001", probe, "--",
            "tumor-classifier", "tune", "run", check=False,
        )  # fmt: skip
        assert tuned.returncode == 1
        assert "Traceback" not in tuned.stderr, tuned.stderr[-2000:]
        # The project's own line; buildah adds "subprocess exited" and "Error: exit status 1" after it.
        errors = [
            line
            for line in tuned.stderr.splitlines()
            if line.startswith("Error:") and line != "Error: exit status 1"
        ]
        assert len(errors) == 1, tuned.stderr[-2000:]
        (error,) = errors
        assert "pip install 'tumor-classifier[pipeline]'" in error
    finally:
        buildah("umount", probe, check=False)
        buildah("rm", probe, check=False)


TRITON_INFER = """
import json, mlflow, pandas as pd
import tritonclient.http as httpclient
from tritonclient import utils
from tumor_classifier.settings import load_settings
s = load_settings()
mlflow.set_tracking_uri(s.resolved_tracking_uri)
rows = pd.read_csv("data/prepared/test.csv").drop(columns=["target"]).head(20)
client = httpclient.InferenceServerClient(url="127.0.0.1:PORT")
inputs = []
for item in client.get_model_metadata(s.model_name)["inputs"]:
    values = rows[item["name"]].to_numpy(dtype=utils.triton_to_np_dtype(item["datatype"]))
    tensor = httpclient.InferInput(item["name"], [len(values)], item["datatype"])
    inputs.append(tensor.set_data_from_numpy(values, binary_data=False))
wanted = [httpclient.InferRequestedOutput("predict", binary_data=False)]
result = client.infer(s.model_name, inputs, outputs=wanted)
model = mlflow.pyfunc.load_model(f"models:/{s.model_name}@champion")
print(json.dumps({"ready": client.is_server_ready(), "infer": result.as_numpy("predict").tolist(),
                  "pyfunc": model.predict(rows).tolist()}))
"""


def test_kube_play_runs_the_deployment_as_a_cluster_would(
    built: tuple[Path, str, str], podman_env: dict[str, str], tmp_path: Path
) -> None:
    """`make k8s`, then the rendered Deployment run for real by `podman kube play`, then `podman kube down`.

    Two changes make the manifest fit one host: one replica, and a hostPort on 127.0.0.1 (no cluster network
    here). Podman turns the probes into health checks that run curl inside the container, which the slim
    image does not have, so the test probes the same paths from outside, as a kubelet does.
    """
    project, _, version = built
    run_make(project, "k8s")
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl renders k8s/ (kubectl kustomize)"
    rendered = subprocess.run(
        [kubectl, "kustomize", str(project / "k8s")], capture_output=True, text=True, check=True
    ).stdout
    deployment = next(
        doc for doc in yaml.safe_load_all(rendered) if doc and doc["kind"] == "Deployment"
    )
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == f"{project.name}:{version}", "make k8s set the last image's tag"
    port = free_port()
    deployment["spec"]["replicas"] = 1
    container["ports"][0].update(hostPort=port, hostIP="127.0.0.1")
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(yaml.safe_dump(deployment))
    podman(podman_env, "kube", "play", str(manifest))
    name = f"{deployment['metadata']['name']}-pod-0-{container['name']}"
    try:
        wait_for(f"http://127.0.0.1:{port}{container['readinessProbe']['httpGet']['path']}", 120)
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            status, _ = http(f"http://127.0.0.1:{port}{container[probe]['httpGet']['path']}")
            assert status == 200, f"{probe} fails"
        inspected = json.loads(podman(podman_env, "inspect", name))[0]
        assert (
            inspected["HostConfig"]["ReadonlyRootfs"] is True
        ), "the root file system is read-only"
        top = podman(podman_env, "top", name, "huser", "args").splitlines()[1:]
        assert top, "podman top lists the container's processes"
        assert all(line.split()[0] == "10001" for line in top), top
        assert any("tumor-classifier serve" in line for line in top), top
        answers = project_python(project, TRITON_INFER.replace("PORT", str(port)))
        assert answers["ready"], "tritonclient: the server is ready"
        assert answers["infer"] == answers["pyfunc"], "tritonclient's infer is pyfunc's"
        assert_serves_the_champion(project, port, version)  # and a plain /invocations
    finally:
        down = subprocess.run(
            [*PODMAN, "kube", "down", str(manifest)],
            env={**os.environ, **podman_env},
            capture_output=True,
            text=True,
        )
    assert down.returncode == 0, down.stderr[-3000:]
    left = podman(podman_env, "ps", "--all", "--format", "{{.Names}}").split()
    assert not [each for each in left if each.startswith(deployment["metadata"]["name"])], left
    pods = podman(podman_env, "pod", "ps", "--format", "{{.Name}}")
    assert not pods.split(), pods
