"""What a run was made from: hashes of dvc.lock, params.yaml and DVC-tracked data (stdlib at import)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dvc_output_hashes(root: Path) -> dict[str, str]:
    """The md5 DVC recorded in dvc.lock for each stage output and dependency, by path.

    Returns an empty mapping when there is no dvc.lock yet; raises ValueError when it is unreadable.
    """
    lock = root / "dvc.lock"
    if not lock.is_file():
        return {}
    import yaml  # lazily: the MLflow plugin imports this module while mlflow itself is importing

    # libyaml's loader parses dvc.lock ten times faster; this runs at every run start.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        content: Any = yaml.load(lock.read_text(encoding="utf-8"), Loader=loader)
        hashes: dict[str, str] = {}
        for stage in content["stages"].values():
            for entry in [*stage.get("deps", []), *stage.get("outs", [])]:
                if "md5" in entry:
                    hashes[entry["path"]] = entry["md5"]
        return hashes
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"{lock}: not a readable dvc.lock ({error})") from error
