"""Tests of reading the request log back for the drift check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.drift import MonitorError, check
from {{ cookiecutter.package_name }}.monitoring.requests import logged_column, read_request_log, window
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.settings import Settings

from tests.monitoring.conftest import record


def test_reader_skips_cut_lines_and_filters_versions(tmp_path: Path) -> None:
    """Rotated copies are read, a line cut short is counted not read, a version filter keeps its rows."""
    (tmp_path / "worker-1.jsonl").write_text(
        record({"x": 1.0}, 0) + record({"x": 2.0}, 1) + '{"time": "2026-11-26T07:0'
    )
    (tmp_path / "worker-1.jsonl.1").write_text(record({"x": 3.0}, 1, version="2"))
    (tmp_path / "notes.txt").write_text("not a log\n")

    everything = read_request_log(tmp_path)
    assert sorted(everything.features["x"]) == [1.0, 2.0, 3.0]
    assert everything.skipped == 1
    assert everything.versions == {"2": 1, "3": 2}
    assert everything.judged == {"2": 1, "3": 2}

    version_3 = read_request_log(tmp_path, version="3")
    assert list(version_3.predictions) == [0, 1]
    assert version_3.versions == {"2": 1, "3": 2}, "the versions seen are the whole log's"
    assert version_3.judged == {"3": 2}, "the versions kept are the filter's"


def test_rows_with_other_columns_are_counted_not_kept(tmp_path: Path) -> None:
    """With the model's columns given, other rows count per version, and only the kept ones are judged."""
    (tmp_path / "1.jsonl").write_text(
        record({"old": 1.0}, 0, version="1")
        + record({"x": 2.0, "old": 1.0}, 1, version="3")
        + record({"x": 3.0}, 1, version="4")
    )

    log = read_request_log(tmp_path, columns=["x"])

    assert log.features["x"].tolist() == [3.0]
    assert log.versions == {"1": 1, "3": 1, "4": 1}
    assert log.other_columns == {"1": 1, "3": 1}
    assert log.judged == {"4": 1}


def test_a_feature_never_logged_reads_as_missing(tmp_path: Path) -> None:
    """A feature absent from every record is a column of gaps, one per logged row."""
    (tmp_path / "1.jsonl").write_text(record({"x": 1.0}, 0) + record({"x": 2.0}, 1))

    log = read_request_log(tmp_path)

    assert logged_column(log, "y").isna().tolist() == [True, True]
    assert logged_column(log, "x").tolist() == [1.0, 2.0]


def test_the_window_spans_the_logged_times(tmp_path: Path) -> None:
    """The first and last logged time of the rows kept; none for a log whose rows have no time."""
    (tmp_path / "1.jsonl").write_text(record({"x": 1.0}, 0) + record({"x": 2.0}, 1))

    first, last = window(read_request_log(tmp_path)) or (None, None)

    assert first == last == pd.Timestamp("2026-11-26T07:00:00.123+00:00")
    assert window(read_request_log(tmp_path / "nothing-here")) is None


def test_monitor_judges_a_saved_container_log(
    settings: Settings, params: Params, prepared: pd.DataFrame, tmp_path: Path
) -> None:
    """`make monitor LOG=<file>`: the records among a container's other output are judged, not its log_dir's."""
    target = params.data.target
    rows = prepared.sample(n=400, replace=True, random_state=0).to_dict(orient="records")
    lines = [
        "INFO:     Started server process [7]\n"
        + record({str(k): v for k, v in row.items() if k != target}, row[target])
        for row in rows
    ]
    saved = tmp_path / "pods.log"
    saved.write_text("".join(lines))

    summary = check(settings.model_copy(update={"monitor_log": saved}), params)

    assert summary.rows == 400
    assert not summary.drifted, summary.describe()
    with pytest.raises(MonitorError, match="no such file; save a container's output first"):
        check(settings.model_copy(update={"monitor_log": tmp_path / "none.log"}), params)
