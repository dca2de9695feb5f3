"""The image's build context: the exported champion, the project's wheel, a hash-checked wheelhouse, its SBOM.

`make image` writes the build context first (build/image/): the champion exported with its signature and
serving example, the project's wheel, and a wheelhouse of exactly the locked runtime dependencies
(`poetry export`, with their hashes) for the image's Python and platform. The Dockerfile installs from that
wheelhouse only (`pip install --no-index --require-hashes`): the build needs no network, no index credentials
and no proxy, and the image holds the locked versions. Nothing else of the project enters the build
(.dockerignore lets in build/image/ only). The image carries a CycloneDX SBOM of exactly what it installs
(the wheelhouse's requirements, with their hashes; the project as its root component) at SBOM_PATH.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

from ..errors import ProjectError
from ..model.export import export_model
from ..names import DISTRIBUTION, PACKAGE
from ..settings import Settings

CONTEXT = Path("build/image")
SBOM = "sbom.cdx.json"  # in the build context; in the image at SBOM_PATH (see the Dockerfile)
SBOM_PATH = f"/usr/share/doc/{DISTRIBUTION}/{SBOM}"
SBOM_LABEL = f"{PACKAGE}.sbom"  # the image's label that names SBOM_PATH
_PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]


class ImageError(ProjectError, RuntimeError):
    """The image cannot be built or run; the message says what to install or set."""


def prepare_context(
    settings: Settings, python_version: str, poetry: str = "poetry"
) -> dict[str, str]:
    """Write build/image/: the champion (model/), the project's wheel, the locked wheelhouse (wheels/), its SBOM."""
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
    write_sbom(wheels / "requirements.txt", root / "pyproject.toml", context / SBOM)
    return record


def write_sbom(requirements: Path, pyproject: Path, target: Path) -> None:
    """The CycloneDX SBOM (JSON, reproducible) of a hash-pinned requirements file, the project its root."""
    tool = Path(sys.executable).parent / "cyclonedx-py"
    if not tool.exists():
        raise ImageError(
            f"the image's SBOM is written with cyclonedx-py, which is not in {tool.parent}: make install"
        )
    # The root component from the [project] table alone: given a [tool.poetry] table too, cyclonedx-py
    # reads the project's name there, where Poetry 2 keeps none.
    project = tomllib.loads(pyproject.read_text())["project"]
    root = target.with_name("root-component.toml")
    root.write_text(
        "[project]\n"
        + "".join(
            f"{key} = {json.dumps(project[key])}\n"
            for key in ("name", "version", "description")
            if key in project
        )
    )
    run(
        [str(tool), "requirements", "--output-reproducible", "--output-format", "JSON",
         "--pyproject", str(root), "--output-file", str(target), str(requirements)]
    )  # fmt: skip
    root.unlink()


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
    `pip install --require-hashes` still accepts only files that trace back to the lock. Lines whose markers
    leave them out of the image (Windows-only packages, say) are left out here, so the requirements file,
    the wheelhouse and the SBOM name what the image installs, no more.
    """
    named = [
        (requirement_name(line), line)
        for line in requirement_lines(requirements)
        if applies_to_image(line, python_version)
    ]
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


def applies_to_image(line: str, python_version: str) -> bool:
    """Whether a requirement line's environment markers hold in the image: Linux, its Python, this CPU."""
    requirement = Requirement(line.split(" --hash", 1)[0])
    if requirement.marker is None:
        return True
    image: dict[str, str] = {key: str(value) for key, value in default_environment().items()}
    image |= {
        "os_name": "posix",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
    }
    return requirement.marker.evaluate(image)


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
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool (poetry, pip, the image tool); on failure, ImageError with the end of what it printed."""
    completed = subprocess.run(
        command,
        env=env,
        cwd=cwd,
        input=stdin,
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
