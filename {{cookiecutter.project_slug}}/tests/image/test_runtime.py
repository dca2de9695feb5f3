"""Tests of the image engines: choosing one, building, running and stopping the image's server."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.image.context import CONTEXT, ImageError
from {{ cookiecutter.package_name }}.image.runtime import (
    PORT_INSIDE,
    RUN_NAME,
    Image,
    build,
    builder,
    create_command,
    last_built,
    remember,
    run_command,
    running,
    size,
)
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.net import free_port

from tests.image.engines import calls, install_engine


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder that is the whole PATH: only the engines a test installs there are found."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


def answers(port: int) -> bool:
    """Whether something answers /health on 127.0.0.1:`port`."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
            return True
    except (urllib.error.URLError, OSError):
        return False


def test_the_first_engine_on_path_builds(bin_dir: Path) -> None:
    """Without IMAGE_BUILDER, docker comes before podman, and podman before buildah."""
    install_engine(bin_dir, "buildah")
    assert builder() == ("buildah",)
    install_engine(bin_dir, "podman")
    assert builder() == ("podman",)
    install_engine(bin_dir, "docker")
    assert builder() == ("docker",)


def test_image_builder_is_a_command_with_options(bin_dir: Path) -> None:
    """IMAGE_BUILDER may carry the engine's global options; it wins over an engine found first."""
    install_engine(bin_dir, "docker")
    install_engine(bin_dir, "buildah")
    assert builder("buildah --storage-driver vfs") == ("buildah", "--storage-driver", "vfs")


def test_an_engine_that_cannot_work_here_is_passed_over_or_refused(
    bin_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A docker client without its daemon is skipped for the next engine, or refused with what it said.

    The check comes first, before the wheelhouse download that used to fail with an empty reason.
    """
    install_engine(bin_dir, "docker", mode="nodaemon")
    with pytest.raises(
        ImageError, match=r"docker \(Cannot connect to the Docker daemon.*Start its daemon"
    ):
        builder()
    with pytest.raises(ImageError, match=r"Cannot connect to the Docker daemon"):
        builder("docker")
    install_engine(bin_dir, "buildah")
    assert builder() == ("buildah",)
    assert [call["args"] for call in calls(bin_dir)][-1] == ["version"], "buildah was asked first"
    assert "docker (Cannot connect to the Docker daemon" in caplog.text, "says why not docker"
    assert "using buildah" in caplog.text


def test_no_engine_on_path_says_what_to_install(bin_dir: Path) -> None:
    """With no engine on PATH the error names the three, or the one IMAGE_BUILDER asks for."""
    with pytest.raises(ImageError, match=r"install docker or podman or buildah .*IMAGE_BUILDER"):
        builder()
    install_engine(bin_dir, "docker")
    with pytest.raises(ImageError, match="install nerdctl"):
        builder("nerdctl")


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_docker_and_podman_publish_on_localhost_only(engine: str) -> None:
    """The container's port is published on 127.0.0.1 and the chosen port, and removed when it stops."""
    command = create_command(Image((engine,), "tc:3"), 8123)

    assert command[:2] == [engine, "create"]
    assert "--rm" in command
    assert command[command.index("-p") + 1] == f"127.0.0.1:8123:{PORT_INSIDE}"
    assert command[command.index("--name") + 1] == RUN_NAME
    assert command[-1] == "tc:3"
    assert run_command(Image((engine,), "tc:3"), 8123) == [engine, "start", "--attach", RUN_NAME]


def test_buildah_runs_the_image_command_on_localhost(bin_dir: Path) -> None:
    """Under buildah the image's declared command runs, told by environment to serve on 127.0.0.1:port."""
    engine = install_engine(bin_dir, "buildah")

    command = run_command(Image((str(engine), "--storage-driver", "vfs"), "tc:3"), 8123)

    assert command[:4] == [str(engine), "--storage-driver", "vfs", "run"]
    assert f"{ENV_PREFIX}SERVE_HOST=127.0.0.1" in command
    assert f"{ENV_PREFIX}SERVE_PORT=8123" in command
    after = command[command.index("--") + 1 :]
    assert after[1:] == [str(engine), "health"], "the image's entrypoint and command, as inspected"
    assert command[command.index("--") - 1] == RUN_NAME
    assert calls(bin_dir)[-1]["args"][:4] == ["--storage-driver", "vfs", "inspect", "--type"]


def test_build_passes_the_base_image_and_runs_in_the_project(bin_dir: Path, tmp_path: Path) -> None:
    """Docker builds the project folder with BASE_IMAGE; buildah and podman build in Docker's format.

    In their default (OCI) format, both drop the Dockerfile's HEALTHCHECK with a warning.
    """
    docker, buildah = install_engine(bin_dir, "docker"), install_engine(bin_dir, "buildah")
    podman = install_engine(bin_dir, "podman")

    built = build((str(docker),), "tc:3", "python:3.11-slim", tmp_path)
    build((str(buildah),), "tc:3", None, tmp_path)
    build((str(podman), "--storage-driver", "vfs"), "tc:3", None, tmp_path)

    assert built == Image((str(docker),), "tc:3")
    first, second, third = calls(bin_dir)
    assert first == {
        "args": ["build", "--build-arg", "BASE_IMAGE=python:3.11-slim", "-t", "tc:3", "."],
        "cwd": str(tmp_path),
    }
    assert second["args"] == ["bud", "--format", "docker", "-t", "tc:3", "."]
    assert third["args"][2:5] == ["build", "--format", "docker"]


def test_a_failed_build_is_an_image_error(bin_dir: Path, tmp_path: Path) -> None:
    """An engine that fails the build stops `make image` with its exit code."""
    engine = install_engine(bin_dir, "docker", mode="crash")
    with pytest.raises(ImageError, match=r"build -t failed \(125\)"):
        build((str(engine),), "tc:3", None, tmp_path)


def test_size_is_what_the_engine_reports(bin_dir: Path) -> None:
    """The size is the engine's own text; an engine that lists nothing gives '?'."""
    assert size(Image((str(install_engine(bin_dir, "docker")),), "tc:3")) == "42.1MB"
    assert size(Image((str(install_engine(bin_dir, "podman", size="")),), "tc:3")) == "?"


def test_the_image_built_last_is_remembered(tmp_path: Path) -> None:
    """`image run` finds the image and engine `image build` used, in this project only."""
    (tmp_path / CONTEXT).mkdir(parents=True)
    with pytest.raises(ImageError, match=r"^no image built yet: make image$"):
        last_built(tmp_path)

    remember(tmp_path, Image(("buildah", "--storage-driver", "vfs"), "tc:3"))

    assert last_built(tmp_path) == Image(("buildah", "--storage-driver", "vfs"), "tc:3")


@pytest.mark.parametrize("engine", ["docker", "buildah"])
def test_running_times_the_first_healthy_answer_then_stops(bin_dir: Path, engine: str) -> None:
    """The block runs while the container answers /health; afterwards nothing listens on the port."""
    image = Image((str(install_engine(bin_dir, engine)),), "tc:3")
    port = free_port()

    with running(image, port, timeout=30) as seconds:
        assert 0 < seconds < 30
        assert answers(port)

    assert not answers(port), "the container's server is stopped"
    verbs = [call["args"][0] for call in calls(bin_dir)]
    if engine == "buildah":
        assert verbs == ["rm", "from", "inspect", "run", "rm"], "a fresh working container, removed"
    else:
        assert verbs == ["create", "start", "stop"], "created untimed, then started and timed"


def test_a_container_that_exits_says_why(bin_dir: Path) -> None:
    """A container that stops before answering fails at once, with its exit code and what it printed."""
    image = Image((str(install_engine(bin_dir, "docker", mode="crash")),), "tc:3")

    with (
        pytest.raises(ImageError, match=r"the container exited \(1\):\nError: no such image"),
        running(image, free_port(), timeout=30),
    ):
        pass


def test_a_container_that_never_answers_times_out(bin_dir: Path) -> None:
    """A container that runs but never answers /health fails after the time allowed, and is stopped."""
    image = Image((str(install_engine(bin_dir, "podman", mode="mute")),), "tc:3")

    with (
        pytest.raises(
            ImageError, match=r"^the container was not ready \(/v2/health/ready\) within 1s$"
        ),
        running(image, free_port(), timeout=1),
    ):
        pass
    assert [call["args"][0] for call in calls(bin_dir)] == ["create", "start", "stop"]
