"""`make reproduce` on the shared bake (slow): exit 0 for a clean version, 2 for a dirty one, 1 for an unseeded one.

A clean version rebuilds to the same model and adds nothing to the store; its model card then says so. A version
trained on your own file still reproduces after the file changed: its data comes from the DVC cache. Each test leaves the bake as it found it: files it changed are restored and committed, and the pipeline is
trained again on the shipped code when a test trained on other code.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import project_env, project_python, run_make

pytestmark = pytest.mark.slow

IDENTITY = ["-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid"]
# The registry as reproduce must leave it: how many runs and versions, each version's tags and run's dirty flag.
STORE = """
import json
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
experiments = [e.experiment_id for e in client.search_experiments()]
versions = client.search_model_versions(f"name='{s.model_name}'")
print(json.dumps({
    "runs": len(client.search_runs(experiments)),
    "versions": {str(v.version): v.tags for v in versions},
    "newest": str(max(int(v.version) for v in versions)),
    "dirty": {str(v.version): client.get_run(v.run_id).data.tags.get("tumor_classifier.git.dirty")
              for v in versions},
}))
"""
# The model card as huggingface_hub's own loader reads it, beside what MLflow holds of the version.
CARD = """
import json
from huggingface_hub import ModelCard
from mlflow.tracking import MlflowClient
from tumor_classifier.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
version = client.get_model_version(s.model_name, VERSION)
card = ModelCard.load("reports/model-card/README.md")
logged = client.get_run(version.run_id).data.metrics
print(json.dumps({
    "card": {r.metric_type: r.metric_value for r in card.data.eval_results},
    "run": {k.removeprefix("test_"): v for k, v in logged.items() if k.startswith("test_")},
    "tag": version.tags.get("model_card"),
    "text": card.text,
}))
"""
MODEL = Path("src/tumor_classifier/pipeline/model.py")
SEEDED = '"random_state": seed}'
# HistGradientBoosting draws random numbers only to subsample features (or for early stopping, which is off):
# unseeded and subsampling, each training is another model.
UNSEEDED = '"random_state": None, "max_features": 0.5}'


def git(project: Path, *args: str) -> str:
    """Run git in the bake (with an identity of its own: never the machine's)."""
    done = subprocess.run(
        ["git", *IDENTITY, *args], cwd=project, capture_output=True, text=True, check=True
    )
    return done.stdout


def commit_all(project: Path, message: str) -> None:
    """Commit every change (hooks skipped: this is about the run's git state, not the hooks)."""
    git(project, "add", "--all")
    if git(project, "status", "--porcelain"):
        git(project, "commit", "-q", "--no-verify", "-m", message)


def store(project: Path) -> dict[str, Any]:
    """The STORE facts of the bake's registry."""
    return dict(project_python(project, STORE))


def train_committed(project: Path) -> tuple[str, float]:
    """Commit everything, train again: the new version (trained on a clean tree) and how long it took."""
    commit_all(project, "e2e: the state to reproduce")
    started = time.monotonic()
    run_make(project, "train", "DVC_FLAGS=--force")
    seconds = time.monotonic() - started
    facts = store(project)
    version = facts["newest"]
    assert facts["dirty"][version] == "false", (
        f"version {version} was trained on a dirty tree after a commit: `git status` saw a tracked file "
        "change while train ran (dvc.yaml's models/run.json must be `persist: true`)"
    )
    return version, seconds


def reproduce(project: Path, version: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """`make reproduce VERSION=version`, and how long it took."""
    started = time.monotonic()
    done = run_make(project, "reproduce", f"VERSION={version}", check=False)
    return done, time.monotonic() - started


def reproduce_code(project: Path, version: str) -> subprocess.CompletedProcess[str]:
    """The command `make reproduce` runs, for its exit code: make itself exits 2 whenever a recipe fails."""
    command = [str(project / ".venv/bin/tumor-classifier"), "reproduce", "--version", version]
    return subprocess.run(command, cwd=project, env=project_env(), capture_output=True, text=True)


def test_a_clean_version_is_reproduced_and_nothing_is_added(trained: Path) -> None:
    """Exit 0 with every check holding, the verdict tagged on the version, no run or version added."""
    version, train_seconds = train_committed(trained)
    before = store(trained)
    done, seconds = reproduce(trained, version)
    after = store(trained)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"version {version} reproduced" in done.stdout
    assert (after["runs"], sorted(after["versions"])) == (
        before["runs"],
        sorted(before["versions"]),
    )
    assert after["versions"][version]["reproduce.verdict"] == "reproduced"
    assert after["versions"][version]["reproduce.table"].startswith("reproduce/")
    assert git(trained, "worktree", "list").count("\n") == 1, "the worktree is removed"
    print(f"\nmake train {train_seconds:.1f} s, make reproduce {seconds:.1f} s: "
          f"{seconds / train_seconds:.2f}x (goal <= 1.5x)")  # fmt: skip
    assert seconds <= 3 * train_seconds, "a reproduce costs about one training"
    run_make(trained, "model-card", f"VERSION={version}")
    card = dict(project_python(trained, CARD.replace("VERSION", repr(version))))
    assert card["card"] == card["run"], "the card's model-index holds the run's test metrics"
    assert card["tag"] == "model-card/README.md", "the version names its card"
    assert "- Last `make reproduce`: reproduced (" in card["text"]
    assert "| train | data/prepared/train.csv |" in card["text"], "the run's dataset inputs"


def test_a_version_trained_on_uncommitted_changes_cannot_be_judged(trained: Path) -> None:
    """A dirty version exits 2 with the reason in one line, and gets no verdict."""
    readme = trained / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\nAn uncommitted line.\n")
    try:
        run_make(trained, "train", "DVC_FLAGS=--force")
    finally:
        readme.write_text(original)
    version = store(trained)["newest"]
    done = reproduce_code(trained, version)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        f"cannot judge version {version}: version {version} was trained on uncommitted"
        in done.stderr
    )
    assert "reproduce.verdict" not in store(trained)["versions"][version]


def test_an_unseeded_version_differs(trained: Path) -> None:
    """A version trained unseeded (committed, trained) exits 1 naming what differs."""
    model = trained / MODEL
    shipped = model.read_text()
    assert SEEDED in shipped, "the model is seeded where this test expects"
    model.write_text(shipped.replace(SEEDED, UNSEEDED))
    try:
        version, _ = train_committed(trained)
        done = reproduce_code(trained, version)
    finally:
        model.write_text(shipped)
        commit_all(trained, "e2e: the seeded model again")
        run_make(trained, "train")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"version {version} differs: " in done.stderr
    named = done.stderr.rpartition("differs: ")[2]
    assert "test_log_loss" in named, f"the probabilities of another model differ: {named}"
    assert store(trained)["versions"][version]["reproduce.verdict"].startswith("differs: ")


def test_a_changed_dataset_file_does_not_change_the_rebuild(trained: Path) -> None:
    """Your own file, trained and committed, then changed and committed without retraining: still exit 0.

    The rebuild restores the raw data the version was trained on from the DVC cache by its hash, never from
    the working folder (nor from the worktree's commit, which holds the same file): the data checks hold.
    """
    params = trained / "params.yaml"
    shipped = params.read_text()
    source = trained / "datasets/churn.csv"
    try:
        shutil.copy(trained / "tests/data/churn.csv", source)
        run_make(trained, "data-source", "SOURCE=datasets/churn.csv", "TARGET=churned")
        run_make(trained, "data-schema")
        # The first training on the new file rewrites dvc.lock mid-run (a dirty version); the next is clean.
        run_make(trained, "train")
        version, _ = train_committed(trained)
        rows = source.read_text().splitlines()
        source.write_text("\n".join(rows[:-25]) + "\n")  # 25 rows fewer: another dataset
        commit_all(trained, "e2e: the dataset changed, the model not retrained")
        done = reproduce_code(trained, version)
    finally:
        params.write_text(shipped)
        for path in (trained / "datasets").glob("churn*"):
            path.unlink()
        commit_all(trained, "e2e: the shipped dataset again")
        run_make(trained, "train")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"version {version} reproduced" in done.stdout
    assert "| data data/prepared |" in done.stdout, "the data was checked against its recorded hash"
