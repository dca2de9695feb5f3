"""The image's build context: the exported champion, the project's wheel and a hash-checked wheelhouse.

`make image` writes the build context first (build/image/): the champion exported with its signature and
serving example, the project's wheel, and a wheelhouse of exactly the locked runtime dependencies
(`poetry export`, with their hashes) for the image's Python and platform. The Dockerfile installs from that
wheelhouse only (`pip install --no-index --require-hashes`): the build needs no network, no index credentials
and no proxy, and the image holds the locked versions. Nothing else of the project enters the build
(.dockerignore lets in build/image/ only).
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from ..errors import ProjectError
from ..model.export import export_model
from ..settings import Settings

CONTEXT = Path("build/image")
_PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]


class ImageError(ProjectError, RuntimeError):
    """The image cannot be built or run; the message says what to install or set."""


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
    export_requirements(poetry, root, requirements, env)
    run([poetry, "-C", str(root), "build", "-f", "wheel", "-o", str(wheels / "project")], env)
    wheelhouse(requirements, root / "poetry.lock", wheels, python_version)
    return record


def export_requirements(
    poetry: str, root: Path, requirements: Path, env: dict[str, str] | None = None
) -> None:
    """Write the project's locked runtime dependencies, with their hashes, as a requirements file."""
    exported = run(
        [poetry, "-C", str(root), "export", "--only", "main", "--without-urls",
         "-f", "requirements.txt", "-o", str(requirements)],
        env, check=False,
    )  # fmt: skip
    if exported.returncode == 0:
        return
    if "export" in exported.stderr and "does not exist" in exported.stderr:
        raise ImageError(
            "`make image` exports poetry.lock with Poetry's export plugin, which pyproject.toml requires: "
            "Poetry 2 installs it for the project by itself (make install); otherwise "
            "poetry self add poetry-plugin-export"
        )
    raise ImageError(f"poetry export failed:\n{exported.stderr[-2000:]}")


def wheelhouse(requirements: Path, lock: Path, wheels: Path, python_version: str) -> None:
    """Download the locked wheels for the image's Python and platform into `wheels`, checked by hash.

    A package the lock has only a source archive for is built into a wheel here from that (hash-checked)
    archive; it must be pure Python, and its wheel's hash is added to its line, so the image's
    `pip install --require-hashes` still accepts only files that trace back to the lock.
    """
    named = [(requirement_name(line), line) for line in requirement_lines(requirements)]
    sdist_only = _sdist_only(lock)
    work = wheels.parent / "requirements"
    work.mkdir(exist_ok=True)
    binary = [line for name, line in named if name not in sdist_only]
    (work / "wheels.txt").write_text("\n".join(binary) + "\n")
    run(
        [*_PIP, "download", "--no-deps", "--only-binary=:all:", *_platforms(),
         f"--python-version={python_version}", "--implementation=cp",
         "-r", str(work / "wheels.txt"), "-d", str(wheels)]
    )  # fmt: skip
    hashes = {
        name: _built_wheel_hash(name, line, work, wheels)
        for name, line in named
        if name in sdist_only
    }
    final = [
        f"{line} --hash=sha256:{hashes[name]}" if name in hashes else line for name, line in named
    ]
    (wheels / "requirements.txt").write_text("\n".join(final) + "\n")


def _sdist_only(lock: Path) -> set[str]:
    """The (normalised) names of the locked packages that have no wheel, only a source archive."""
    return {
        normalized(package["name"])
        for package in tomllib.loads(lock.read_text())["package"]
        if not any(file["file"].endswith(".whl") for file in package.get("files", []))
    }


def _built_wheel_hash(name: str, line: str, work: Path, wheels: Path) -> str:
    """Build one requirement's wheel from its hash-checked source archive; the wheel's sha256."""
    (work / f"{name}.txt").write_text(line + "\n")
    before = set(wheels.glob("*.whl"))
    run(
        [*_PIP, "wheel", "--no-deps", "--no-binary=:all:", "-r", str(work / f"{name}.txt"),
         "-w", str(wheels)]
    )  # fmt: skip
    (wheel,) = set(wheels.glob("*.whl")) - before
    if not wheel.name.endswith("-none-any.whl"):
        raise ImageError(f"{wheel.name} is not pure Python: it cannot be built for the image here")
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement lines of a `poetry export`, continuations joined, comments and options left out."""
    text = requirements.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] not in "#-"]


def requirement_name(line: str) -> str:
    """The normalised name of the package a requirement line is for."""
    return normalized(re.split(r"[=<>!~ ;\[]", line, maxsplit=1)[0])


def normalized(name: str) -> str:
    """A package name as the packaging standards compare it (PEP 503): lower case, runs of -_. as -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _platforms() -> list[str]:
    """The manylinux platforms of this machine's architecture (images run Linux on the host's CPU)."""
    arch = {"arm64": "aarch64", "amd64": "x86_64"}.get(
        platform.machine().lower(), platform.machine()
    )
    tags = (f"manylinux_2_28_{arch}", f"manylinux_2_17_{arch}", f"manylinux2014_{arch}")
    return [f"--platform={tag}" for tag in tags]


def run(
    command: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    show: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a tool (poetry, pip, the image tool); on failure, ImageError with the end of what it printed."""
    completed = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        text=True,
        stdout=None if show else subprocess.PIPE,
        stderr=None if show else subprocess.PIPE,
    )
    if check and completed.returncode != 0:
        said = (
            "its output is above" if show else (completed.stderr or completed.stdout or "")[-3000:]
        )
        raise ImageError(f"{' '.join(command[:3])} failed ({completed.returncode}): {said.strip()}")
    return completed
