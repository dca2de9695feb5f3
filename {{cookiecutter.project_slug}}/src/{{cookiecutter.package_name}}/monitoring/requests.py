"""The logged requests as frames: what `serving.request_log` wrote, read back for the drift check.

The log is the server's folder of JSON-lines files, or one file: a container's standard output saved from
the cluster (`kubectl logs`), where the records sit between the server's other lines; those are counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from ..serving.request_log import OTHER, log_files, records

PREDICTION = "prediction"  # the predictions' column, in the check as in each logged record
# Why rows with other columns are not judged; drift.json gives it with their count.
OTHER_COLUMNS_REASON = "a model trained on other columns served them"


class RequestLog(NamedTuple):
    """The logged rows the check compares (of one model version, or of all)."""

    features: pd.DataFrame  # a row per logged row, a column per feature
    predictions: pd.Series
    times: pd.Series  # UTC timestamps; NaT where a record had none
    versions: dict[str, int]  # rows per model version in the whole log, before any filter
    skipped: int  # lines that are not a whole record (a worker stopped mid-write)
    # Rows not judged, per version, because their columns are not the model's (served before a retraining).
    other_columns: dict[str, int]
    judged: dict[str, int]  # rows kept (the rows the check judges) per model version
    other_lines: int = (
        0  # lines of other output (a container's stdout holds the server's own log too)
    )


def read_request_log(
    folder: Path, version: str | None = None, columns: Collection[str] | None = None
) -> RequestLog:
    """The rows logged in the folder (or file), of one model version or of all; other lines are counted.

    With `columns`, only rows with exactly those feature columns are kept; the others are counted per version.
    """
    kept: list[dict[str, Any]] = []
    versions: Counter[str] = Counter()
    other: Counter[str] = Counter()
    skipped = other_lines = 0
    wanted = None if columns is None else set(columns)
    for path in log_files(folder):
        for record in records(path):
            if not isinstance(record, dict):  # cut short (None), or OTHER output
                skipped += record is None
                other_lines += record == OTHER
                continue
            logged_version = str(record.get("version"))
            versions[logged_version] += 1
            if version is not None and logged_version != version:
                continue
            if wanted is not None and set(record["features"]) != wanted:
                other[logged_version] += 1
                continue
            kept.append(record)
    log = _frames(kept, dict(sorted(versions.items())), skipped, dict(sorted(other.items())))
    return log._replace(other_lines=other_lines)


def _frames(
    kept: list[dict[str, Any]], versions: dict[str, int], skipped: int, other: dict[str, int]
) -> RequestLog:
    """The kept records as the check's frames."""
    features = [record["features"] for record in kept]
    times = pd.Series([record.get("time") for record in kept], dtype=object)
    judged = Counter(str(record.get("version")) for record in kept)
    return RequestLog(
        pd.DataFrame.from_records(features) if features else pd.DataFrame(),
        pd.Series([record[PREDICTION] for record in kept], dtype=object),
        pd.to_datetime(times, utc=True, errors="coerce", format="ISO8601"),
        versions,
        skipped,
        other,
        dict(sorted(judged.items())),
    )


def describe_other_columns(other: dict[str, int], columns: int) -> str:
    """What the check left out: rows whose columns are not the training data's, per version."""
    per_version = ", ".join(f"version {name}: {count}" for name, count in other.items())
    return (
        f"not judged: {sum(other.values())} logged rows whose columns are not the {columns} feature "
        f"columns of the training data ({per_version}): {OTHER_COLUMNS_REASON}"
    )


def logged_column(log: RequestLog, name: str) -> pd.Series:
    """A feature's logged values; all missing if the log never has it."""
    if name in log.features.columns:
        return log.features[name]
    return pd.Series([None] * len(log.predictions), dtype=object)


def window(log: RequestLog) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last time a kept row was logged; None when no row has a time."""
    times = log.times.dropna()
    if times.empty:
        return None
    return times.min(), times.max()
