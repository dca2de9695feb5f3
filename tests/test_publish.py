"""End-to-end publishing: `make build publish` to a real index on 127.0.0.1, then install it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from passlib.apache import HtpasswdFile

from tests.conftest import free_port, project_env, run_make
from tests.index_url import package_index_url

pytestmark = pytest.mark.slow
USER, PASSWORD = "publisher", "correct-horse-battery"
DISTRIBUTION, VERSION = "tumor-classifier", "0.1.0"

# Run in a fresh interpreter of the fresh venv: what MLflow registered from the entry points.
PLUGIN_CHECK = """
import json, sys, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import mlflow.tracking.context.registry as registry
providers = [type(p) for p in registry._run_context_provider_registry]
print(json.dumps({
    "providers": {p.__name__: sys.modules[p.__module__].__file__ for p in providers},
    "failures": [str(w.message) for w in caught if "Failure attempting" in str(w.message)],
}))
"""


@dataclass(frozen=True)
class Index:
    """A running package index: its base URL and the folder it serves."""

    url: str
    packages: Path

    def files(self) -> list[str]:
        """The names of the files the index serves, sorted."""
        return sorted(path.name for path in self.packages.iterdir())


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll the index until it answers; fail with its log if it exits or never does."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"pypi-server exited ({server.returncode}):\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{url}/simple/", timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"pypi-server did not answer on {url} within 30 s:\n{log.read_text()}")


@pytest.fixture
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    """An empty pypiserver of this test's own on a free loopback port, so no test sees another's uploads.

    Anyone may download; uploads need USER's password.
    """
    root = tmp_path_factory.mktemp("index")
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True, default_scheme="apr_md5_crypt")
    htpasswd.set_password(USER, PASSWORD)
    htpasswd.save()
    packages, log = root / "packages", root / "server.log"
    packages.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_script = Path(sys.executable).parent / "pypi-server"
    command: list[str | Path] = [server_script, "run", "-i", "127.0.0.1", "-p", str(port),
                                 "-P", root / "htpasswd", "-a", "update", packages]  # fmt: skip
    with log.open("wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, server, log)
        yield Index(url, packages)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def upload_env(index: Index, password: str) -> dict[str, str]:
    """What a developer exports to publish to a private index: its URL and credentials."""
    return {
        "PUBLISH_REPOSITORY_URL": index.url,
        "TWINE_USERNAME": USER,
        "TWINE_PASSWORD": password,
    }


def test_publish_without_a_password_names_the_variable(
    installed_project: Path, index: Index
) -> None:
    """Without TWINE_PASSWORD, publish stops before building and says which variable to set."""
    result = run_make(installed_project, "publish", env=upload_env(index, ""), check=False)
    assert result.returncode != 0
    assert "TWINE_PASSWORD" in result.stderr, result.stderr
    assert "Building" not in result.stdout, "it fails fast, before building"
    assert index.files() == []


def test_wrong_password_is_refused_clearly(installed_project: Path, index: Index) -> None:
    """An upload with a wrong password fails: twine shows the index's 401/403, make says why."""
    result = run_make(installed_project, "publish", env=upload_env(index, "wrong"), check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "403" in output or "401" in output, output[-3000:]
    assert "TWINE_USERNAME/TWINE_PASSWORD are wrong" in result.stderr, result.stderr[-3000:]
    assert index.files() == [], "nothing was uploaded"


def test_publish_then_install_from_the_index(
    installed_project: Path, index: Index, tmp_path: Path
) -> None:
    """The published wheel installs in a fresh venv; its script runs; MLflow finds its plugin."""
    run_make(installed_project, "build", "publish", env=upload_env(index, PASSWORD))
    wheel, sdist = (
        f"tumor_classifier-{VERSION}-py3-none-any.whl",
        f"tumor_classifier-{VERSION}.tar.gz",
    )
    assert index.files() == sorted([wheel, sdist])

    venv, report = tmp_path / "venv", tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    install = subprocess.run(
        [venv / "bin/pip", "install", "--quiet", "--report", report,
         "--index-url", f"{index.url}/simple/", "--extra-index-url", package_index_url(),
         f"{DISTRIBUTION}=={VERSION}"],
        capture_output=True, text=True, env=project_env(),
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    installed = {
        item["metadata"]["name"]: item["download_info"]["url"]
        for item in json.loads(report.read_text())["install"]
    }
    assert installed[DISTRIBUTION].startswith(index.url), f"not from the local index: {installed}"
    assert installed[DISTRIBUTION].endswith(wheel), "pip installed the wheel, not the sdist"

    # A fresh process outside the project: nothing from the project's source tree or settings.
    fresh = {k: v for k, v in project_env().items() if not k.startswith("TUMOR_CLASSIFIER_")}
    outside = tmp_path / "elsewhere"
    outside.mkdir()

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(args, capture_output=True, text=True, env=fresh, cwd=outside)
        assert completed.returncode == 0, f"{args}: {completed.stderr[-3000:]}"
        return completed

    assert VERSION in run(venv / "bin/tumor-classifier", "--version").stdout
    info = json.loads(run(venv / "bin/tumor-classifier", "info", "--json").stdout)
    assert info["version"] == VERSION
    plugin = json.loads(run(venv / "bin/python", "-c", PLUGIN_CHECK).stdout)
    assert plugin["failures"] == [], plugin["failures"]
    module = plugin["providers"].get("ProjectRunContextProvider")
    assert module is not None, f"MLflow did not register the plugin: {plugin['providers']}"
    assert module.startswith(str(venv)), f"plugin loaded from {module}, not the installed wheel"


def test_republishing_a_version_is_refused(installed_project: Path, index: Index) -> None:
    """An index keeps a published version: uploading it again fails, and make says so."""
    run_make(installed_project, "build", "publish", env=upload_env(index, PASSWORD))
    result = run_make(installed_project, "publish", env=upload_env(index, PASSWORD), check=False)
    assert result.returncode != 0
    assert "409" in result.stdout + result.stderr or "400" in result.stdout + result.stderr
    assert "this version is already there" in result.stderr, result.stderr[-3000:]
