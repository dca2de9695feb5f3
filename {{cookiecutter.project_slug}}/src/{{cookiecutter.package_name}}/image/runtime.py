"""The serving image: build it with docker, podman or buildah, run it, and time its start-up.

`make image` writes the build context first (build/image/): the champion exported with its signature and
serving example, the project's wheel, and a wheelhouse of exactly the locked runtime dependencies
(`poetry export`, with their hashes) for the image's Python and platform. The Dockerfile installs from that
wheelhouse only (`pip install --no-index --require-hashes`): the build needs no network, no index credentials
and no proxy, and the image holds the locked versions. Nothing else of the project enters the build
(.dockerignore lets in build/image/ only).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil

from ..errors import ProjectError
from ..model.export import export_model
from ..names import DISTRIBUTION, ENV_PREFIX
from ..settings import Settings

BUILDERS = ("docker", "podman", "buildah")
CONTEXT = Path("build/image")
PORT_INSIDE = 8080  # the port the server listens on in the image (see the Dockerfile)
RUN_NAME = f"{DISTRIBUTION}-image-run"
SIZE_FORMAT = (
    "{" + "{.Size}" + "}"
)  # a Go template, split so that the template renderer leaves it alone


class ImageError(ProjectError, RuntimeError):
    """The image cannot be built or run; the message says what to install or set."""


@dataclass(frozen=True)
class Image:
    """A built image: its tag, and the tool (with its global options) that built it and runs it."""

    tool: tuple[str, ...]
    tag: str

    @property
    def buildah(self) -> bool:
        """Whether the tool is buildah, which runs an image differently from docker and podman."""
        return Path(self.tool[0]).name == "buildah"


def builder(preferred: str | None = None) -> tuple[str, ...]:
    """The image tool: IMAGE_BUILDER when set, else the first of docker, podman and buildah on PATH.

    IMAGE_BUILDER is a command, with global options if any (`buildah --storage-driver vfs`).
    """
    for command in (shlex.split(preferred),) if preferred else ([tool] for tool in BUILDERS):
        if command and shutil.which(command[0]):
            return tuple(command)
    wanted = preferred or " or ".join(BUILDERS)
    raise ImageError(f"no image tool found: install {wanted} (or set IMAGE_BUILDER to one on PATH)")


def prepare_context(
    settings: Settings, python_version: str, poetry: str = "poetry"
) -> dict[str, str]:
    """Write build/image/: the champion (model/), the project's wheel and the locked wheelhouse (wheels/)."""
    root = settings.project_root
    context = root / CONTEXT
    if context.exists():
        shutil.rmtree(context)
    wheels = context / "wheels"
    (wheels / "project").mkdir(parents=True)
    record = export_model(settings, context / "model")
    env = {**os.environ, "POETRY_VIRTUALENVS_CREATE": "false"}  # export and build need no venv
    requirements = context / "requirements.txt"
    exported = _run(
        [poetry, "-C", str(root), "export", "--only", "main", "--without-urls",
         "-f", "requirements.txt", "-o", str(requirements)],
        env, check=False,
    )  # fmt: skip
    if exported.returncode != 0:
        if "export" in exported.stderr and "does not exist" in exported.stderr:
            raise ImageError(
                "`make image` exports poetry.lock with Poetry's export plugin: "
                "poetry self add poetry-plugin-export (pipx: pipx inject poetry poetry-plugin-export)"
            )
        raise ImageError(f"poetry export failed:\n{exported.stderr[-2000:]}")
    _run([poetry, "-C", str(root), "build", "-f", "wheel", "-o", str(wheels / "project")], env)
    wheelhouse(requirements, root / "poetry.lock", wheels, python_version)
    return record


def wheelhouse(requirements: Path, lock: Path, wheels: Path, python_version: str) -> None:
    """Download the locked wheels for the image's Python and platform into `wheels`, checked by hash.

    A package the lock has only a source archive for is built into a wheel here from that (hash-checked)
    archive; it must be pure Python, and its wheel's hash is added to its line, so the image's
    `pip install --require-hashes` still accepts only files that trace back to the lock.
    """
    lines = _requirement_lines(requirements)
    sdist_only = {
        _normalized(package["name"])
        for package in tomllib.loads(lock.read_text())["package"]
        if not any(file["file"].endswith(".whl") for file in package.get("files", []))
    }
    binary = [line for line in lines if _name(line) not in sdist_only]
    built = [line for line in lines if _name(line) in sdist_only]
    work = wheels.parent / "requirements"
    work.mkdir(exist_ok=True)
    (work / "wheels.txt").write_text("\n".join(binary) + "\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    _run(
        [*pip, "download", "--no-deps", "--only-binary=:all:", *_platforms(),
         f"--python-version={python_version}", "--implementation=cp",
         "-r", str(work / "wheels.txt"), "-d", str(wheels)]
    )  # fmt: skip
    hashes = {}
    for line in built:
        name = _name(line)
        (work / f"{name}.txt").write_text(line + "\n")
        before = set(wheels.glob("*.whl"))
        _run(
            [*pip, "wheel", "--no-deps", "--no-binary=:all:", "-r", str(work / f"{name}.txt"),
             "-w", str(wheels)]
        )  # fmt: skip
        (wheel,) = set(wheels.glob("*.whl")) - before
        if not wheel.name.endswith("-none-any.whl"):
            raise ImageError(
                f"{wheel.name} is not pure Python: it cannot be built for the image here"
            )
        hashes[name] = hashlib.sha256(wheel.read_bytes()).hexdigest()
    final = [
        f"{line} --hash=sha256:{hashes[_name(line)]}" if _name(line) in hashes else line
        for line in lines
    ]
    (wheels / "requirements.txt").write_text("\n".join(final) + "\n")


def _requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of a `poetry export`, continuations joined."""
    text = requirements.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] not in "#-"]


def _name(line: str) -> str:
    return _normalized(re.split(r"[=<>!~ ;\[]", line, maxsplit=1)[0])


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _platforms() -> list[str]:
    """The manylinux platforms of this machine's architecture (images run Linux on the host's CPU)."""
    arch = {"arm64": "aarch64", "amd64": "x86_64"}.get(
        platform.machine().lower(), platform.machine()
    )
    tags = (f"manylinux_2_28_{arch}", f"manylinux_2_17_{arch}", f"manylinux2014_{arch}")
    return [f"--platform={tag}" for tag in tags]


def build(tool: tuple[str, ...], tag: str, base_image: str | None, root: Path) -> Image:
    """Build the Dockerfile in `root` (its context is build/image/, see .dockerignore)."""
    image = Image(tool, tag)
    base = ["--build-arg", f"BASE_IMAGE={base_image}"] if base_image else []
    # buildah keeps the HEALTHCHECK in Docker's image format only.
    verb = ["bud", "--format", "docker"] if image.buildah else ["build"]
    _run([*tool, *verb, *base, "-t", tag, "."], cwd=root, show=True)
    return image


def size(image: Image) -> str:
    """The image's size, as its tool reports it."""
    listed = _run([*image.tool, "images", "--format", SIZE_FORMAT, image.tag])
    return listed.stdout.strip().splitlines()[0] if listed.stdout.strip() else "?"


def remember(root: Path, image: Image) -> None:
    """Note the image just built, for `image run`."""
    (root / CONTEXT / "image.json").write_text(json.dumps({"tool": image.tool, "tag": image.tag}))


def last_built(root: Path) -> Image:
    """The image `image build` made last in this project."""
    try:
        built = json.loads((root / CONTEXT / "image.json").read_text())
        return Image(tuple(built["tool"]), built["tag"])
    except (OSError, ValueError, TypeError):
        raise ImageError("no image built yet: make image") from None


def serve(image: Image, port: int) -> None:
    """Serve the image on 127.0.0.1:`port` in the foreground, until Ctrl+C."""
    print(f"serving {image.tag} on http://127.0.0.1:{port} (Ctrl+C stops it)", flush=True)
    with _container(image, port) as (server, _), suppress(KeyboardInterrupt):
        server.wait()


def run_command(image: Image, port: int) -> list[str]:
    """The command that serves the image on 127.0.0.1:`port`, in the foreground."""
    if not image.buildah:
        return [*image.tool, "run", "--rm", "--name", RUN_NAME, "-p",
                f"127.0.0.1:{port}:{PORT_INSIDE}", image.tag]  # fmt: skip
    # buildah runs the image's command in a container sharing the host's network: the server listens on the
    # host itself, so on 127.0.0.1 and the chosen port rather than on every address.
    inspected = json.loads(_run([*image.tool, "inspect", "--type", "image", image.tag]).stdout)
    config = inspected["OCIv1"]["config"]
    return [
        *image.tool, "run",
        "--env", f"{ENV_PREFIX}SERVE_HOST=127.0.0.1", "--env", f"{ENV_PREFIX}SERVE_PORT={port}",
        RUN_NAME, "--", *config.get("Entrypoint", []), *config["Cmd"],
    ]  # fmt: skip


@contextmanager
def running(image: Image, port: int, timeout: float = 120.0) -> Iterator[float]:
    """Serve the image on 127.0.0.1:`port` until the block ends; yield the seconds to a healthy answer."""
    with _container(image, port, quiet=True) as (server, started):
        yield wait_for_health(port, server, started, timeout)


@contextmanager
def _container(
    image: Image, port: int, quiet: bool = False
) -> Iterator[tuple[subprocess.Popen[str], float]]:
    """Run the image's server until the block ends (then stop it); yield its process and start time."""
    if image.buildah:  # a fresh working container of the image, under the name `stop` removes
        _run([*image.tool, "rm", RUN_NAME], check=False)
        _run([*image.tool, "from", "--name", RUN_NAME, image.tag])
    started = time.monotonic()
    output = subprocess.DEVNULL if quiet else None
    server = subprocess.Popen(
        run_command(image, port),
        stdout=output,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
    )
    try:
        yield server, started
    finally:
        stop(image, server)


def wait_for_health(
    port: int, server: subprocess.Popen[str], started: float, timeout: float
) -> float:
    """Seconds from `started` until /health answers; ImageError if the container exits first."""
    while time.monotonic() - started < timeout:
        if server.poll() is not None:
            raise ImageError(
                f"the container exited ({server.returncode}):\n{(server.stderr or '')}"
            )
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise ImageError(f"the container did not answer /health within {timeout:.0f}s")


def stop(image: Image, server: subprocess.Popen[str]) -> None:
    """Stop a running container (docker and podman by name; buildah's by its server process)."""
    if image.buildah:
        _terminate_children(server.pid)  # the server itself: a signal to buildah would kill it hard
    else:
        _run([*image.tool, "stop", RUN_NAME], check=False)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if image.buildah:
        _run([*image.tool, "rm", RUN_NAME], check=False)


def _terminate_children(pid: int) -> None:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for child in children:
        with suppress(psutil.NoSuchProcess):
            child.terminate()


def _run(
    command: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    show: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a tool; on failure, ImageError with the end of what it printed."""
    completed = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        text=True,
        stdout=None if show else subprocess.PIPE,
        stderr=None if show else subprocess.PIPE,
    )
    if check and completed.returncode != 0:
        output = "" if show else (completed.stderr or completed.stdout or "")[-3000:]
        raise ImageError(f"{' '.join(command[:3])} failed ({completed.returncode}):\n{output}")
    return completed
