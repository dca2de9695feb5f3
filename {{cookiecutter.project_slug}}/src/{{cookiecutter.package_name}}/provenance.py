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

    A stage's own record of what it wrote wins over another stage's record of what it last read: in the
    middle of `dvc repro`, the producer's entry is already new while the consumer's is from the last run,
    so the hash is the one of the data this run consumes, the one the committed dvc.lock will hold.
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
        produced: dict[str, str] = {}
        read: dict[str, str] = {}
        for stage in content["stages"].values():
            produced.update({e["path"]: e["md5"] for e in stage.get("outs", []) if "md5" in e})
            read.update({e["path"]: e["md5"] for e in stage.get("deps", []) if "md5" in e})
        return {**read, **produced}
    except (yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
        detail = " ".join(str(error).split())  # YAML errors span lines; a message is one
        raise ValueError(f"{lock}: not a readable dvc.lock ({detail})") from error
