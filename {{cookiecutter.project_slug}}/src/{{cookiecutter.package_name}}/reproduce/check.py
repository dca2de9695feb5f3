"""`make reproduce`: read a version's lineage, rebuild it in a worktree, judge it, record the verdict."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from loguru import logger

from ..pipeline.metrics import model_metrics
from ..pipeline.model import load_saved_model
from ..pipeline.params import ReproduceParams, load_params
from ..settings import Settings
from ..tracking.registry import Registry
from . import ReproduceError
from .compare import Verdict, data_checks, metric_checks, params_check, prediction_check
from .lineage import Lineage, read_lineage
from .rebuild import Rebuilt, rebuild
from .worktree import worktree_at

# The version's tags that record the last verdict, and where its table is logged beside the version's run.
VERDICT_TAG = "reproduce.verdict"
DATE_TAG = "reproduce.date"
TABLE_TAG = "reproduce.table"
TABLE_FOLDER = "reproduce"


def judge(
    lineage: Lineage, rebuilt: Rebuilt, registered_dir: Path, policy: ReproduceParams
) -> Verdict:
    """Compare the rebuild with the version's record and with the registered model itself."""
    target = lineage.params.get("data.target", "target")
    if not rebuilt.test_split.is_file() or not rebuilt.model_dir.is_dir():
        raise ReproduceError("the rebuild wrote no test split or model: its stages changed since?")
    test = pd.read_csv(rebuilt.test_split)
    features, labels = test.drop(columns=[target]), test[target]
    registered, again = load_saved_model(registered_dir), load_saved_model(rebuilt.model_dir)
    task = lineage.task
    checks = [
        *data_checks(lineage.data, rebuilt.data),
        params_check(lineage.params_sha256, rebuilt.params_sha256),
        *metric_checks(
            lineage.metrics,
            model_metrics(again, features, labels, task),
            policy.metric_tolerance,
        ),
        prediction_check(task, registered.predict(features), again.predict(features), policy),
    ]
    return Verdict(lineage.version, lineage.commit, tuple(checks))


def record(registry: Registry, lineage: Lineage, verdict: Verdict) -> str:
    """Tag the version with the verdict and its date; log the table beside its run (no run is added).

    MLflow lets a finished run take more artifacts, and a version take tags, without a new run or version.
    Returns the table's artifact path.
    """
    now = datetime.now(UTC)
    path = f"{TABLE_FOLDER}/{now:%Y%m%dT%H%M%SZ}.md"
    registry.client.log_text(lineage.run_id, verdict.table(), path)
    tags = {
        VERDICT_TAG: verdict.outcome()[:5000],
        DATE_TAG: now.isoformat(timespec="seconds"),
        TABLE_TAG: path,
    }
    registry.tag_version(lineage.version, tags)
    return path


def reproduce(settings: Settings, version: str) -> Verdict:
    """Rebuild `version` from its lineage and judge it; ReproduceError when it cannot be judged."""
    registry = Registry.open(settings)
    lineage = read_lineage(registry, version)
    policy = load_params(settings.params_file).reproduce
    with tempfile.TemporaryDirectory(prefix="reproduce-") as scratch:
        folder = Path(scratch)
        logger.info("rebuilding version {} from commit {}", version, lineage.commit[:12])
        with worktree_at(settings.project_root, lineage.commit, folder) as tree:
            rebuilt = rebuild(tree, settings.project_root, lineage.data, folder / "store")
            registered = registry.download(version, folder / "registered")
            verdict = judge(lineage, rebuilt, registered, policy)
    path = record(registry, lineage, verdict)
    logger.info("verdict recorded on version {} ({} beside run {})", version, path, lineage.run_id)
    return verdict
