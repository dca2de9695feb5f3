"""The SBOM `make build` writes: every locked runtime package, with its version and hashes, schema-valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

ROOT = Path(__file__).resolve().parents[1]
# A pinned line of `poetry export`: name==version, its hashes on the continuation lines.
PINNED = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;]+)")


def locked(requirements: str) -> dict[str, tuple[str, set[str]]]:
    """Name -> (version, sha256 hashes) of each pinned package in an exported requirements file."""
    packages: dict[str, tuple[str, set[str]]] = {}
    for block in requirements.replace("\\\n", " ").splitlines():
        if match := PINNED.match(block.strip()):
            hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
            packages[match[1].lower().replace("_", "-")] = (match[2], hashes)
    return packages


def test_the_sbom_lists_every_locked_package_with_hashes(tmp_path: Path) -> None:
    """`make sbom`'s two commands, run into a temporary folder: the SBOM matches the export and validates."""
    poetry = os.environ.get("POETRY", "poetry")
    assert shutil.which(poetry), "Poetry 2 must be on PATH (or in POETRY) to export poetry.lock"
    makefile = (ROOT / "Makefile").read_text()
    assert (
        "export --only main --all-extras --without-urls -f requirements.txt" in makefile
    ), "runtime packages only"
    requirements, sbom = tmp_path / "requirements.txt", tmp_path / "sbom.cdx.json"
    subprocess.run(
        [poetry, "export", "--only", "main", "--all-extras", "--without-urls", "-f", "requirements.txt",
         "-o", str(requirements)],
        cwd=ROOT, check=True,
    )  # fmt: skip
    subprocess.run(
        [str(Path(sys.executable).parent / "cyclonedx-py"), "requirements", "--output-reproducible", "--output-format", "JSON",
         "--output-file", str(sbom), str(requirements)],
        cwd=ROOT, check=True,
    )  # fmt: skip
    assert "cyclonedx-py requirements --output-reproducible --output-format JSON" in makefile
    text = sbom.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    expected = locked(requirements.read_text())
    assert len(expected) > 50, "a default bake locks well over fifty runtime packages"
    listed = {}
    for component in json.loads(text)["components"]:
        hashes = {
            digest["content"]
            for reference in component.get("externalReferences", [])
            for digest in reference.get("hashes", [])
            if digest["alg"] == "SHA-256"
        }
        listed[component["name"].lower().replace("_", "-")] = (component["version"], hashes)
    assert listed == expected
