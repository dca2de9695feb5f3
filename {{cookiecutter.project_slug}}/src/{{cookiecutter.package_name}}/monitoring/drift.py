"""Drift check: the rows the model server logged against the training split, column by column, with a verdict.

The server samples the rows it scores into `<log dir>/requests/*.jsonl` (one file per worker, rotated to
`*.jsonl.1`, `*.jsonl.2`, ...). `check` compares each feature's logged values with the training split, and the
logged predictions with the training target, by their population stability index (PSI): numbers counted in
bins at the training data's deciles, text by category. A column drifts when its PSI is above
`monitor.psi_limit`; more drifted columns than `monitor.max_drifted` is drift. A numeric column also shows a
two-sample Kolmogorov-Smirnov p-value, as information only: with thousands of rows it is tiny for shifts too
small to matter, which is why the verdict rests on PSI. The report is `reports/monitor/drift.html` (a table
and a histogram per column) and `drift.json` (the same numbers, for scripts).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from loguru import logger

from ..errors import ProjectError
from ..names import ENV_PREFIX
from ..pipeline import PipelineError
from ..pipeline.params import Params, Task
from ..pipeline.prepare import read_splits
from ..serving.request_log import log_files, log_folder
from ..settings import Settings
from .report import write_reports
from .requests import (
    PREDICTION,
    RequestLog,
    describe_other_columns,
    logged_column,
    read_request_log,
)
from .stats import ColumnDrift, Kind, compare_column
from .verdict import DriftSummary

REPORT_DIR = Path("reports", "monitor")
SAMPLING = (
    f"{ENV_PREFIX}SERVE_REQUEST_LOG_RATE"  # the server's setting that decides how much is logged
)


class MonitorError(ProjectError, RuntimeError):
    """The drift check cannot judge yet; the message says what to do first."""


def prediction_kind(task: Task) -> Kind:
    """Classes are categories; a regression's predictions are numbers."""
    return "categorical" if task == "classification" else "numeric"


def compare(
    reference: pd.DataFrame, log: RequestLog, target: str, task: Task, limit: float
) -> tuple[list[ColumnDrift], ColumnDrift]:
    """Each feature's drift, and the predictions' against the training target."""
    features = [
        compare_column(str(name), reference[name], logged_column(log, str(name)), limit)
        for name in reference.columns
        if name != target
    ]
    prediction = compare_column(
        PREDICTION, reference[target], log.predictions, limit, prediction_kind(task)
    )
    return features, prediction


def check(settings: Settings, params: Params, version: str | None = None) -> DriftSummary:
    """Compare the logged rows (of one model version, or all) with the training split; write the reports.

    Raises MonitorError when there is nothing to judge yet: no request log, fewer rows than
    `monitor.min_rows`, or no prepared training data.
    """
    folder = _log_source(settings)
    if not log_files(folder):
        raise MonitorError(
            f"no request log in {folder}: start the server with `make deploy`; "
            f"the server samples requests at {SAMPLING}"
        )
    target = params.data.target
    reference = _training_split(settings, target)
    columns = [str(name) for name in reference.columns if name != target]
    log = _enough_rows(folder, version, params.monitor.min_rows, columns)
    features, prediction = compare(reference, log, target, params.task, params.monitor.psi_limit)
    out = settings.project_root / REPORT_DIR
    summary = DriftSummary(
        report=out / "drift.html",
        summary=out / "drift.json",
        rows=len(log.predictions),
        version=version,
        versions=log.judged,
        features=tuple(features),
        prediction=prediction,
        limits=params.monitor,
        not_judged=log.other_columns,
    )
    write_reports(summary, log, reference, target)
    logger.info("{}", summary.headline())
    return summary


def _log_source(settings: Settings) -> Path:
    """The server's request log folder, or the file MONITOR_LOG names (make monitor LOG=...)."""
    if settings.monitor_log is None:
        return log_folder(settings.log_dir)
    if not settings.monitor_log.is_file():
        raise MonitorError(
            f"LOG={settings.monitor_log}: no such file; save a container's output first, "
            "e.g. kubectl logs -l app.kubernetes.io/name=<name> --tail=-1 > pods.log"
        )
    return settings.monitor_log


def _enough_rows(
    folder: Path, version: str | None, min_rows: int, columns: list[str]
) -> RequestLog:
    """The log's rows with the model's `columns`, of `version` if given; MonitorError below `min_rows`."""
    log = read_request_log(folder, version, columns)
    if log.skipped:
        logger.warning("skipped {} request log lines that were cut short", log.skipped)
    if log.other_lines:
        logger.info("skipped {} lines of other output between the records", log.other_lines)
    if log.other_columns:
        logger.warning("{}", describe_other_columns(log.other_columns, len(columns)))
    rows = len(log.predictions)
    if rows < min_rows:
        of = f" of model version {version}" if version is not None else ""
        logged = ", ".join(f"{name}: {count}" for name, count in log.versions.items()) or "none"
        left_out = (
            f" ({describe_other_columns(log.other_columns, len(columns))})"
            if log.other_columns
            else ""
        )
        raise MonitorError(
            f"{rows} logged rows{of} in {folder} (rows per version: {logged}){left_out}, fewer than "
            f"monitor.min_rows = {min_rows}: let the server log more requests "
            f"(it samples them at {SAMPLING}) or lower monitor.min_rows in params.yaml"
        )
    return log


def _training_split(settings: Settings, target: str) -> pd.DataFrame:
    """The prepared training split, which must hold the target; MonitorError naming the stage to run."""
    try:
        reference = read_splits(settings.data_dir).train
    except PipelineError as error:
        raise MonitorError(f"no training data to compare with: {error}") from None
    if target not in reference.columns:
        raise MonitorError(
            f"the training split has no column {target!r} (data.target in params.yaml): "
            "prepare the data again (make data)"
        )
    return reference
