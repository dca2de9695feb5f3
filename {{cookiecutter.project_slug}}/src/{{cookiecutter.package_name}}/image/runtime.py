"""The image engines: build the image with docker, podman or buildah, run it, and time its start-up.

The build's context is what `context.prepare_context` wrote (build/image/, see .dockerignore); the image
serves on PORT_INSIDE, published on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from ..files import write_json_atomically
from ..names import DISTRIBUTION, ENV_PREFIX
from ..net import HealthTimeoutError, wait_for_health
from ..processes import stop_tree
from .context import CONTEXT, ImageError, run

BUILDERS = ("docker", "podman", "buildah")
PORT_INSIDE = 8080  # the port the server listens on in the image (see the Dockerfile)
RUN_NAME = f"{DISTRIBUTION}-image-run"
SIZE_FORMAT = (
    "{" + "{.Size}" + "}"
)  # a Go template, split so that the template renderer leaves it alone
READY = "/v2/health/ready"  # what the image's HEALTHCHECK and Kubernetes' readinessProbe ask
BUILT = "image.json"  # in the build context: the image built last, for `image run`


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
    """The image tool: IMAGE_BUILDER when set, else the first of docker, podman and buildah that works here.

    IMAGE_BUILDER is a command, with global options if any (`buildah --storage-driver vfs`). Each tool is
    asked once (`info`, or buildah's `version`) before anything is exported or downloaded: a docker client
    without its daemon is refused at once, with what it said.
    """
    candidates = [shlex.split(preferred)] if preferred else [[tool] for tool in BUILDERS]
    refusals: list[str] = []
    for command in candidates:
        if not command or not shutil.which(command[0]):
            continue
        refusal = _refusal(tuple(command))
        if refusal is None:
            for skipped in refusals:  # say why the first choice is not the one used
                logger.warning("{} cannot build here: using {}", skipped, command[0])
            return tuple(command)
        refusals.append(f"{command[0]} ({refusal})")
    if refusals:
        raise ImageError(
            f"no image tool can build here: {'; '.join(refusals)}. Start its daemon, or set "
            "IMAGE_BUILDER to one that works (podman, or buildah needs none)"
        )
    wanted = preferred or " or ".join(BUILDERS)
    raise ImageError(f"no image tool found: install {wanted} (or set IMAGE_BUILDER to one on PATH)")


def _refusal(tool: tuple[str, ...]) -> str | None:
    """What the tool says when asked whether it can work here (its first lines), or None when it can."""
    verb = "version" if Path(tool[0]).name == "buildah" else "info"
    probe = run([*tool, verb], check=False)
    if probe.returncode == 0:
        return None
    said = (probe.stderr or probe.stdout or "").strip().splitlines()
    return " ".join(line.strip() for line in said[-2:])[:300] or f"exit code {probe.returncode}"


def build(tool: tuple[str, ...], tag: str, base_image: str | None, root: Path) -> Image:
    """Build the Dockerfile in `root` (its context is build/image/, see .dockerignore)."""
    image = Image(tool, tag)
    base = ["--build-arg", f"BASE_IMAGE={base_image}"] if base_image else []
    # buildah and podman keep the HEALTHCHECK in Docker's image format only (docker knows no other).
    verb = ["bud"] if image.buildah else ["build"]
    if Path(tool[0]).name in ("buildah", "podman"):
        verb += ["--format", "docker"]
    run([*tool, *verb, *base, "-t", tag, "."], cwd=root, show=True)
    return image


def size(image: Image) -> str:
    """The image's size, as its tool reports it."""
    listed = run([*image.tool, "images", "--format", SIZE_FORMAT, image.tag])
    return listed.stdout.strip().splitlines()[0] if listed.stdout.strip() else "?"


def remember(root: Path, image: Image) -> None:
    """Note the image just built, for `image run`."""
    write_json_atomically(root / CONTEXT / BUILT, {"tool": image.tool, "tag": image.tag})


def last_built(root: Path) -> Image:
    """The image `image build` made last in this project."""
    try:
        built = json.loads((root / CONTEXT / BUILT).read_text())
        return Image(tuple(built["tool"]), built["tag"])
    except (OSError, ValueError, TypeError, KeyError):
        raise ImageError("no image built yet: make image") from None


def create_command(image: Image, port: int) -> list[str]:
    """The command that makes the container, not yet started: the engine writes its root filesystem."""
    if image.buildah:
        return [*image.tool, "from", "--name", RUN_NAME, image.tag]
    return [*image.tool, "create", "--rm", "--name", RUN_NAME, "-p",
            f"127.0.0.1:{port}:{PORT_INSIDE}", image.tag]  # fmt: skip


def run_command(image: Image, port: int) -> list[str]:
    """The command that runs the created container's server on 127.0.0.1:`port`, in the foreground."""
    if not image.buildah:
        return [*image.tool, "start", "--attach", RUN_NAME]
    # buildah runs the image's command in a container sharing the host's network: the server listens on the
    # host itself, so on 127.0.0.1 and the chosen port rather than on every address.
    inspected = json.loads(run([*image.tool, "inspect", "--type", "image", image.tag]).stdout)
    config = inspected["OCIv1"]["config"]
    return [
        *image.tool, "run",
        "--env", f"{ENV_PREFIX}SERVE_HOST=127.0.0.1", "--env", f"{ENV_PREFIX}SERVE_PORT={port}",
        RUN_NAME, "--", *config.get("Entrypoint", []), *config["Cmd"],
    ]  # fmt: skip


def serve(image: Image, port: int) -> None:
    """Serve the image on 127.0.0.1:`port` in the foreground, until Ctrl+C."""
    print(f"serving {image.tag} on http://127.0.0.1:{port} (Ctrl+C stops it)", flush=True)
    with _container(image, port) as (server, _), suppress(KeyboardInterrupt):
        server.wait()


@contextmanager
def running(image: Image, port: int, timeout: float = 120.0) -> Iterator[float]:
    """Serve the image on 127.0.0.1:`port` until the block ends; yield the seconds until it is ready.

    Ready is `/v2/health/ready` (the model loaded and its serving example answered), timed from the start
    of the container already created: the start-up is the image's, not the storage driver's copy of it.
    """
    with _container(image, port, quiet=True) as (server, started):
        yield _seconds_to_health(port, server, started, timeout)


@contextmanager
def _container(
    image: Image, port: int, quiet: bool = False
) -> Iterator[tuple[subprocess.Popen[str], float]]:
    """Create a container of the image, run its server until the block ends (then stop it and remove it).

    Yields the server's process and the time it was started.
    """
    if image.buildah:  # a fresh working container of the image, under the name `stop` removes
        run([*image.tool, "rm", RUN_NAME], check=False)
    run(create_command(image, port))
    started = time.monotonic()
    server = subprocess.Popen(
        run_command(image, port),
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.PIPE if quiet else None,
        text=True,
    )
    try:
        yield server, started
    finally:
        stop(image, server)


def _seconds_to_health(
    port: int, server: subprocess.Popen[str], started: float, timeout: float
) -> float:
    """Seconds from `started` until the server is ready; ImageError if the container exits first."""

    def alive() -> None:
        if server.poll() is not None:
            printed = server.stderr.read() if server.stderr else ""
            raise ImageError(f"the container exited ({server.returncode}):\n{printed}")

    remaining = max(0.0, timeout - (time.monotonic() - started))
    try:
        wait_for_health(f"http://127.0.0.1:{port}{READY}", remaining, alive=alive, interval=0.2)
    except HealthTimeoutError:
        raise ImageError(f"the container was not ready ({READY}) within {timeout:.0f}s") from None
    return time.monotonic() - started


def stop(image: Image, server: subprocess.Popen[str]) -> None:
    """Stop a running container (docker and podman by name; buildah's by its server process)."""
    if image.buildah:
        # The server itself, below `buildah run`: a signal to buildah would kill it hard.
        stop_tree(server.pid, include_leader=False)
    else:
        run([*image.tool, "stop", RUN_NAME], check=False)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
    if image.buildah:
        run([*image.tool, "rm", RUN_NAME], check=False)
