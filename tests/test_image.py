"""The serving image of a trained bake: `make image` with buildah, run, and checked like the server (slow).

No Docker engine here: buildah (vfs storage, chroot isolation) builds the project's own Dockerfile on a
Debian base image made with debootstrap, and runs it on the host's network. `.ci/run` installs both.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port, http, project_env, project_python, run_make, wait_for
from tests.e2e import PYFUNC_PREDICTIONS

pytestmark = pytest.mark.slow

BASE_IMAGE = (
    "localhost/debian-python:bookworm"  # Debian 12's Python 3.11: the bake's default python_version
)
BUILDAH = ["buildah", "--storage-driver", "vfs"]
IMAGE_ENV = {
    "BUILDAH_ISOLATION": "chroot",
    "IMAGE_BUILDER": " ".join(BUILDAH),
    "IMAGE_BASE": BASE_IMAGE,
}
# What must never travel into the image: the project's data, runs, environment, secrets and records.
KEPT_OUT = {".env", ".mlflow", ".venv", ".git", "params.yaml", "dvc.lock", "poetry.lock"}


def debian_mirror() -> str:
    """The Debian mirror apt uses for bookworm, read from its sources (never written down)."""
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in sources.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and line[0] != "#"
            )
            if "bookworm" in fields.get("Suites", "").split() and "URIs" in fields:
                return fields["URIs"].split()[0]
    for line in Path("/etc/apt/sources.list").read_text().splitlines():
        parts = line.split()
        if parts[:1] == ["deb"] and "security" not in line:
            return next(part for part in parts[1:] if "://" in part)
    raise AssertionError("no Debian mirror in apt's sources")


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
         "bookworm", str(rootfs), debian_mirror()],
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


@pytest.fixture
def image_server(deployable: Path, base_image: str) -> Iterator[tuple[str, str, int]]:
    """`make image` of the project's champion, then `image run` on a free port: (tag, version, port)."""
    subprocess.run(  # the champion: the newest version of the shipped params (a no-op when it is)
        [deployable / ".venv/bin/tumor-classifier", "promote"],
        cwd=deployable, env=project_env(), check=True, capture_output=True,
    )  # fmt: skip
    built = run_make(deployable, "image", env=IMAGE_ENV)
    print(built.stdout.splitlines()[-1])
    found = re.search(
        r"image (\S+) \(buildah\): tumor-classifier version (\d+), (.+), answering /health ([\d.]+) s",
        built.stdout,
    )
    assert found, built.stdout[-3000:]
    tag, version = f"localhost/{found[1]}", found[2]
    port = free_port()
    server = subprocess.Popen(
        [deployable / ".venv/bin/tumor-classifier", "image", "run"],
        cwd=deployable,
        env={**project_env(), **IMAGE_ENV, "TUMOR_CLASSIFIER_SERVE_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield tag, version, port
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C: the server stops, the container is removed
        server.wait(60)
        buildah("rmi", tag)


def listener_uid(port: int) -> int:
    """The user id of the process listening on a loopback port."""
    listing = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    pid = re.search(r"pid=(\d+)", listing)
    assert pid, listing
    status = Path(f"/proc/{pid[1]}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE)[1])  # type: ignore[index]


def test_the_image_serves_the_champion_as_the_project_does(
    installed_project: Path, image_server: tuple[str, str, int]
) -> None:
    """The container answers like the registry's model, as a non-root user, with nothing of the project."""
    tag, version, port = image_server
    health = json.loads(wait_for(f"http://127.0.0.1:{port}/health", 120))
    assert (health["version"], health["alias"]) == (version, "champion")
    expected = project_python(installed_project, PYFUNC_PREDICTIONS)
    status, answer = http(
        f"http://127.0.0.1:{port}/invocations", {"dataframe_split": expected["split"]}
    )
    assert status == 200
    assert answer == {"predictions": expected["predictions"]}, "same predictions as the registry's"
    assert listener_uid(port) == 10001, "the server runs as the image's own user, not root"

    config = json.loads(buildah("inspect", "--type", "image", tag).stdout)
    assert config["OCIv1"]["config"]["User"] == "10001:10001"
    assert "/health" in " ".join(config["Docker"]["config"]["Healthcheck"]["Test"])

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
    finally:
        buildah("umount", probe, check=False)
        buildah("rm", probe, check=False)
