"""End-to-end publishing: `make build publish` to a real package index on 127.0.0.1, then install it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from passlib.apache import HtpasswdFile

from tests.conftest import project_env, run_make
from tests.index_url import package_index_url

pytestmark = pytest.mark.slow
USER, PASSWORD = "publisher", "correct-horse"

PLUGIN_CHECK = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import mlflow.tracking.context.registry as registry
names = [type(provider).__name__ for provider in registry._run_context_provider_registry]
failures = [str(w.message) for w in caught if "Failure attempting to register" in str(w.message)]
assert "ProjectRunContextProvider" in names, names
assert not failures, failures
print("plugin discovered")
"""


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A pypiserver on a free loopback port that needs a password to upload."""
    root = tmp_path_factory.mktemp("index")
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True, default_scheme="apr_md5_crypt")
    htpasswd.set_password(USER, PASSWORD)
    htpasswd.save()
    (root / "packages").mkdir()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [Path(sys.executable).parent / "pypi-server", "run", "-i", "127.0.0.1", "-p", str(port),
         "-P", root / "htpasswd", "-a", "update", root / "packages"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/simple/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)


def test_wrong_password_is_refused_clearly(installed_project: Path, index_url: str) -> None:
    """An upload with a wrong password fails, and the output says the index refused it."""
    env = {"PUBLISH_REPOSITORY_URL": index_url, "TWINE_USERNAME": USER, "TWINE_PASSWORD": "nope"}
    result = run_make(installed_project, "publish", env=env, check=False)
    assert result.returncode != 0
    assert "403" in result.stdout + result.stderr or "401" in result.stdout + result.stderr


def test_missing_password_names_the_variable(installed_project: Path, index_url: str) -> None:
    """Without TWINE_PASSWORD, publish stops before uploading and names the variable."""
    env = {"PUBLISH_REPOSITORY_URL": index_url, "TWINE_PASSWORD": ""}
    result = run_make(installed_project, "publish", env=env, check=False)
    assert result.returncode != 0
    assert "TWINE_PASSWORD" in result.stderr


def test_publish_then_install_from_the_index(
    installed_project: Path, index_url: str, tmp_path: Path
) -> None:
    """The published wheel installs in a fresh venv; its script runs; MLflow finds its plugin."""
    env = {"PUBLISH_REPOSITORY_URL": index_url, "TWINE_USERNAME": USER, "TWINE_PASSWORD": PASSWORD}
    run_make(installed_project, "publish", env=env)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    install = subprocess.run(
        [venv / "bin/pip", "install", "--quiet", "--index-url", f"{index_url}/simple/",
         "--extra-index-url", package_index_url(), "tumor-classifier"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    fresh = {k: v for k, v in project_env().items() if not k.startswith("TUMOR_CLASSIFIER_")}
    fresh["MLFLOW_DISABLE_TELEMETRY"] = "true"
    version = subprocess.run(
        [venv / "bin/tumor-classifier", "--version"], capture_output=True, text=True, env=fresh
    )
    assert version.returncode == 0, version.stderr
    assert "0.1.0" in version.stdout
    plugin = subprocess.run(
        [venv / "bin/python", "-c", PLUGIN_CHECK],
        capture_output=True, text=True, env=fresh, cwd=installed_project,
    )  # fmt: skip
    assert plugin.returncode == 0, plugin.stderr[-3000:]
    assert "plugin discovered" in plugin.stdout
    where = subprocess.run(
        [venv / "bin/python", "-c", "import tumor_classifier; print(tumor_classifier.__file__)"],
        capture_output=True, text=True, env=fresh, cwd=tmp_path, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(venv)), f"installed from the wheel into the venv, not {where}"
