"""A bake on the newest Pythons, installed and run for real: Python 3.14 and 3.13 (slow).

This machine has Python 3.11 only, the oldest a bake supports, which the other end-to-end tests run on. For the
newer ones, debootstrap makes a Debian root filesystem (about a minute each): unstable has Python 3.14, trixie
3.13. The bake, rendered with that `python_version`, then runs in it under `chroot` as a user of that
distribution runs it: its own `make install` (Poetry resolves and installs from the package index), then
`make lint typecheck test train`. Each Python runs another bake: the default one on 3.14, the regression task
with a hostile name on 3.13. So each variant's unit tests run once, on a newer Python. On the host's 3.11, the
oldest supported, the default bake's lint and strict mypy run against 3.11 (`test_e2e_project.py`) and every other
end-to-end test runs a bake's make targets (install, train, deploy, serve, image, docs, ...); its unit tests are
not run there a second time (that took 4.6 minutes of `make test`).

What worked to reach the index from inside the root filesystem: a chroot shares the host's network but not its
files, so the root filesystem gets the host's trust (the CA bundle the host's TLS clients use, copied in and
named by `SSL_CERT_FILE` for pip and `REQUESTS_CA_BUNDLE` for Poetry, which reads only the second) and its
resolver (`/etc/resolv.conf`), and the chroot's environment gets the index the host's pip uses
(`tests/index_url.py`). Poetry, the template's own version, is pip-installed into a venv of the root
filesystem, with the host's pip: to install the project's plugins (`requires-plugins`), Poetry resolves them
together with everything in its own environment, pip included, and the pip that Debian unstable bundles
(26.2.2) is not on every index (the resolution then fails: "depends on pip (26.2.2) which doesn't match any
versions"). `/proc` and `/dev/shm` are mounted for the tools that read them (Poetry's installer, multiprocessing).
No wheelhouse is needed: the bake's dependencies all have wheels for both Pythons, and the one sdist
(antlr4-python3-runtime) is pure Python, which Poetry builds itself.

Fitted into `make test`: the two bakes run at the same time, one thread each, so the pair takes about as long as
the slower one alone (7.5 minutes on this 2-core machine, against 6.5), and the regression bake's own checks run
here instead of in a host run of their own. (Run beside the other end-to-end tests instead, in a pytest of
its own, it bought nothing: they keep both cores busy, and the whole `make test` took as long.)
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE, debian_mirror
from tests.index_url import package_index_url
from tests.test_regression import NAME as HOSTILE_NAME

# The first test waits for both bakes (the fixture): 7.5 minutes here when the machine is quiet, 20 when it is
# shared, against the suite's 20-minute timeout per test.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

# The Debian suite whose python3 is each version.
SUITES = {"3.14": "sid", "3.13": "trixie"}
# The bake each version runs (answers beside python_version), its folder and the metric its metrics.json holds.
BAKES = {
    "3.14": ({}, "tumor-classifier", "accuracy"),
    "3.13": ({"project_name": HOSTILE_NAME, "task": "regression"}, "aero-quote-model", "rmse"),
}
TRUST = "/etc/ssl/certs/host-trust.pem"  # the host's CA bundle, inside the root filesystem
POETRY = "/opt/poetry"  # Poetry's own venv, inside the root filesystem
MOUNTS = (("proc", "proc"), ("tmpfs", "dev/shm"))
# Cookiecutter renders from inside the template folder (it changes the process's working directory), so the
# two bakes' threads render one at a time.
RENDERING = threading.Lock()
STEP_SECONDS = 1500


@dataclass
class PythonBake:
    """One bake run in a root filesystem with another Python: each step's command, exit code and output."""

    version: str
    rootfs: Path
    project: Path
    steps: list[tuple[str, int, str]] = field(default_factory=list)

    def run(self, *command: str) -> tuple[int, str]:
        """Run a command in the root filesystem, in the chroot's environment; record it as a step."""
        # The host's chroot, by its path: the environment below gives the root filesystem's PATH.
        chroot = shutil.which("chroot") or "chroot"
        completed = subprocess.run(
            [chroot, str(self.rootfs), *command],
            env=chroot_env(self.version),
            capture_output=True,
            text=True,
            timeout=STEP_SECONDS,
        )
        output = completed.stdout + completed.stderr
        self.steps.append((" ".join(command), completed.returncode, output))
        return completed.returncode, output

    def inside(self) -> str:
        """The project's folder as seen from inside the root filesystem."""
        return "/" + str(self.project.relative_to(self.rootfs))


def chroot_env(version: str) -> dict[str, str]:
    """What the commands in the root filesystem see: its own PATH, the host's trust and index, no telemetry.

    The two root filesystems share the host's processes (one /proc), and a bake's tests recognise their own
    servers by the project folder in a process's environment: each bake's folders, its temporary ones too,
    are named by its Python, so neither takes the other's servers for its own.
    """
    return {
        "TMPDIR": f"/tmp/python{version}",
        "PATH": f"{POETRY}/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_INDEX_URL": package_index_url(),
        "SSL_CERT_FILE": TRUST,
        "REQUESTS_CA_BUNDLE": TRUST,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DVC_NO_ANALYTICS": "1",
    }


def host_trust() -> Path:
    """The CA bundle the host's TLS clients verify the package index with."""
    named = os.environ.get("SSL_CERT_FILE") or ssl.get_default_verify_paths().cafile
    return Path(named or "/etc/ssl/certs/ca-certificates.crt")


def make_rootfs(version: str, rootfs: Path) -> None:
    """A root filesystem of the suite with that python3 (debootstrap), with the host's trust and resolver."""
    subprocess.run(
        ["debootstrap", "--variant=minbase", "--include=python3,python3-venv,make,git,ca-certificates",
         SUITES[version], str(rootfs), *debian_mirror()],
        check=True, capture_output=True, timeout=STEP_SECONDS,
    )  # fmt: skip
    shutil.copyfile(host_trust(), rootfs / TRUST.lstrip("/"))
    shutil.copyfile("/etc/resolv.conf", rootfs / "etc/resolv.conf")
    for kind, target in MOUNTS:
        (rootfs / target).mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", kind, kind, str(rootfs / target)], check=True)


def bake_and_run(version: str, work: Path) -> PythonBake:
    """A bake answering `python_version=<version>`, installed and checked in a root filesystem with that Python."""
    rootfs = work / "rootfs"
    make_rootfs(version, rootfs)
    with RENDERING:
        project = Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={
                    **BAKES[version][0],
                    "python_version": version,
                    "package_index_url": package_index_url(),
                },
                output_dir=str(rootfs / "work" / f"python{version}"),
            )
        )
    (rootfs / "tmp" / f"python{version}").mkdir()
    bake = PythonBake(version, rootfs, project)
    pins = [f"{tool}=={importlib.metadata.version(tool)}" for tool in ("poetry", "pip")]
    for command in (
        ("python3", "-m", "venv", POETRY),
        (f"{POETRY}/bin/pip", "install", "--quiet", *pins),
        ("make", "-C", bake.inside(), "install"),
        ("make", "-C", bake.inside(), "lint", "typecheck", "test", "train"),
    ):
        if bake.run(*command)[0] != 0:
            break
    return bake


def unmount(rootfs: Path) -> None:
    """Take the mounts back out of a root filesystem (lazily: a process may still hold one)."""
    for _, target in reversed(MOUNTS):
        if (rootfs / target).is_mount():
            subprocess.run(["umount", "--lazy", str(rootfs / target)], check=False)


@pytest.fixture(scope="module")
def python_bakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, PythonBake]]:
    """Both bakes, run at once (one per core); the root filesystems are unmounted afterwards, whatever happened."""
    missing = [tool for tool in ("debootstrap", "chroot") if shutil.which(tool) is None]
    assert not missing, f"install {missing} (Debian packages; .ci/run does)"
    assert os.geteuid() == 0, "debootstrap and chroot need root (.ci/run runs as root)"
    works = {version: tmp_path_factory.mktemp(f"python{version}") for version in SUITES}
    try:
        with ThreadPoolExecutor(max_workers=len(SUITES)) as pool:
            futures = {v: pool.submit(bake_and_run, v, work) for v, work in works.items()}
            yield {version: future.result() for version, future in futures.items()}
    finally:
        for work in works.values():
            unmount(work / "rootfs")


@pytest.mark.parametrize("version", sorted(SUITES))
def test_a_bake_passes_its_checks_and_trains_on_a_newer_python(
    python_bakes: dict[str, PythonBake], version: str
) -> None:
    """On 3.13 and 3.14: `make install` (Poetry, from the index), then lint, typecheck, test and train pass."""
    bake = python_bakes[version]
    _, name, metric = BAKES[version]
    assert bake.project.name == name
    for step, code, output in bake.steps:
        assert code == 0, f"[Python {version}] {step} failed ({code}):\n{output[-6000:]}"
    assert len(bake.steps) == 4, bake.steps
    checks = bake.steps[-1][2]
    code, interpreter = bake.run(
        f"{bake.inside()}/.venv/bin/python",
        "-c",
        "import sys; print('%d.%d' % sys.version_info[:2])",
    )
    assert (code, interpreter.strip()) == (0, version)
    pyproject = (bake.project / "pyproject.toml").read_text()
    assert f'requires-python = ">={version},<3.15"' in pyproject
    assert "Success: no issues found" in checks  # mypy strict
    assert re.search(r"=+ \d+ passed", checks), checks[-3000:]
    assert "Required test coverage" in checks, checks[-3000:]  # the coverage gate ran, and held
    assert re.search(rf"registered {name} version 1 \(run [0-9a-f]{{32}}\)", checks), checks[-3000:]
    assert f'"{metric}"' in (bake.project / "metrics.json").read_text()
