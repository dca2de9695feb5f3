"""Rebuild the version in its worktree: its data from the DVC cache (or remote), its stages re-run by DVC.

Tracking goes to a throwaway sqlite store beside the worktree, so the project's runs and registry gain
nothing; `--no-commit` keeps the rebuilt outputs out of the project's DVC cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..names import ENV_PREFIX
from ..provenance import file_sha256
from . import ReproduceError

LOCK = "dvc.lock"
# The stage whose outputs are restored by their recorded hash, and the stages DVC runs again after it.
RESTORED_STAGE = "ingest"
REBUILT_STAGES = ("prepare", "train")
TRAIN_STAGE = "train"
MODEL_DIR = Path("models") / "model"
TEST_SPLIT = Path("data") / "prepared" / "test.csv"
DVC_TIMEOUT = 3600  # seconds: a rebuild trains once, as `make train` does
# What the stages must not inherit: where this process's MLflow points, and the project's own settings (the
# worktree's stages read their defaults, and the throwaway store).
INHERITED_NOT = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "DVC_ROOT", "PYTHONPATH")


@dataclass(frozen=True)
class Rebuilt:
    """What the rebuild produced, in the worktree."""

    data: dict[str, str]  # DVC path -> md5 the rebuilt train stage consumed
    params_sha256: str  # of the commit's params.yaml
    model_dir: Path
    test_split: Path


def dvc_executable() -> str:
    """DVC of this environment (beside its Python), else the one on PATH."""
    beside = Path(sys.executable).with_name("dvc")
    return str(beside) if beside.is_file() else "dvc"


def stage_env(tree: Path, store: Path) -> dict[str, str]:
    """The environment of the worktree's stages: its own code first on the path, the throwaway store."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in INHERITED_NOT and not key.startswith(ENV_PREFIX)
    }
    # The commit's code comes before the project's editable install, and the stages call the project's
    # command from this environment, also when it was not started by make.
    env["PYTHONPATH"] = str(tree / "src")
    env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
    env[f"{ENV_PREFIX}TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    return env


def dvc(tree: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run DVC in the worktree (its output captured: the caller decides what a failure means)."""
    return subprocess.run(
        [dvc_executable(), *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=DVC_TIMEOUT,
    )


def project_cache(root: Path) -> Path:
    """The DVC cache folder of the project (its configured one, or .dvc/cache)."""
    done = subprocess.run(
        [dvc_executable(), "cache", "dir"], cwd=root, capture_output=True, text=True, timeout=60
    )
    found = done.stdout.strip()
    return Path(found) if done.returncode == 0 and found else root / ".dvc" / "cache"


def pin_restored_outputs(lock: Path, recorded: dict[str, str]) -> dict[str, str]:
    """Point the worktree's dvc.lock at the hashes the run recorded for the restored stage's outputs.

    The commit's dvc.lock is the one of the training before it (this one's was committed after), so the
    run's own record says which data it consumed. Returns the pinned paths and hashes (none: no record).
    """
    if not lock.is_file():
        return {}
    content: Any = yaml.safe_load(lock.read_text(encoding="utf-8"))
    outs = content.get("stages", {}).get(RESTORED_STAGE, {}).get("outs", [])
    pinned = {}
    for entry in outs:
        md5 = recorded.get(entry.get("path", ""))
        if md5:
            for meta in ("size", "nfiles"):  # of the old hash; DVC reads them again from the cache
                entry.pop(meta, None)
            entry["md5"] = pinned[entry["path"]] = md5
    lock.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return pinned


def restore(tree: Path, env: dict[str, str], pinned: dict[str, str]) -> None:
    """Check the pinned outputs out of the cache, fetching them from the DVC remote when it lacks them."""
    paths = list(pinned)
    if dvc(tree, env, "checkout", "--force", *paths).returncode == 0:
        return
    fetched = dvc(tree, env, "fetch", *paths)
    if dvc(tree, env, "checkout", "--force", *paths).returncode != 0:
        path = paths[0]
        remote = " ".join(fetched.stderr.split())[-300:] or "fetched nothing"
        raise ReproduceError(
            f"{path} (md5 {pinned[path]}) is neither in the DVC cache nor on the DVC remote "
            f"({remote}): push it from a machine that has it (make data-push)"
        )


def consumed_hashes(lock: Path) -> dict[str, str]:
    """The md5 of the restored data and of each data input of the train stage in a dvc.lock (no modules)."""
    content: Any = yaml.safe_load(lock.read_text(encoding="utf-8"))
    stages = content["stages"]
    entries = [
        *stages.get(RESTORED_STAGE, {}).get("outs", []),
        *stages[TRAIN_STAGE].get("deps", []),
    ]
    return {e["path"]: e["md5"] for e in entries if "md5" in e and not e["path"].endswith(".py")}


def rebuild(tree: Path, project_root: Path, recorded: dict[str, str], store: Path) -> Rebuilt:
    """Restore the recorded data, re-run the stages up to train, and read what they consumed."""
    env = stage_env(tree, store)
    store.mkdir(parents=True, exist_ok=True)
    cache = dvc(tree, env, "cache", "dir", "--local", str(project_cache(project_root)))
    if cache.returncode != 0:
        raise ReproduceError(f"dvc cache dir failed in the worktree: {cache.stderr.strip()}")
    pinned = pin_restored_outputs(tree / LOCK, recorded)
    if pinned:
        restore(tree, env, pinned)
    stages = REBUILT_STAGES if pinned else (RESTORED_STAGE, *REBUILT_STAGES)
    done = dvc(tree, env, "repro", "--force", "--no-commit", "--single-item", *stages)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise ReproduceError(f"the rebuild's `dvc repro` failed:\n{tail}")
    return Rebuilt(
        data=consumed_hashes(tree / LOCK),
        params_sha256=file_sha256(tree / "params.yaml"),
        model_dir=tree / MODEL_DIR,
        test_split=tree / TEST_SPLIT,
    )
