"""Tests for the drift check of the served model's request log."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.drift import MonitorError, check, compare
from {{ cookiecutter.package_name }}.monitoring.requests import read_request_log
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.pipeline.params import MonitorParams, Params
from {{ cookiecutter.package_name }}.settings import Settings

from tests.monitoring.conftest import record, write_log


def test_text_columns_are_compared_by_category(tmp_path: Path) -> None:
    """A text column with a new category drifts; numbers, and predictions as classes, do not."""
    reference = pd.DataFrame(
        {"plan": ["basic", "pro"] * 200, "tenure": np.arange(400) % 40, "churned": [0, 1] * 200}
    )
    lines = [
        record({"plan": "enterprise" if i % 2 else "basic", "tenure": i % 40}, float(i % 2))
        for i in range(400)
    ]
    (tmp_path / "1.jsonl").write_text("".join(lines))

    features, prediction = compare(
        reference, read_request_log(tmp_path), "churned", "classification", limit=0.2
    )

    assert {column.name: column.drifted for column in features} == {"plan": True, "tenure": False}
    assert (features[0].kind, features[0].ks_pvalue) == ("categorical", None)
    assert prediction.psi == pytest.approx(0.0), "1.0 and 1 are the same class"


def test_rows_like_the_training_data_do_not_drift(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """A log resampled from the training rows passes, and says where its report is."""
    rows = prepared.sample(n=400, replace=True, random_state=0)
    write_log(settings, rows, params.data.target)

    summary = check(settings, params)

    assert not summary.drifted, summary.describe()
    assert json.loads(summary.summary.read_text())["verdict"] == "ok"
    assert "drift.html" in summary.describe()


def log_with_one_shifted_feature(settings: Settings, params: Params, prepared: pd.DataFrame) -> str:
    """Log 400 training rows with the first feature shifted by two standard deviations; return its name."""
    feature = str(prepared.columns[0])
    rows = prepared.sample(n=400, replace=True, random_state=0)
    rows[feature] = rows[feature] + 2 * prepared[feature].std()
    write_log(settings, rows, params.data.target)
    return feature


def test_a_shifted_feature_drifts(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """Shifting one feature by two standard deviations is drift, named in the JSON and the HTML."""
    feature = log_with_one_shifted_feature(settings, params, prepared)

    summary = check(settings, params)

    assert summary.drifted
    assert [column.name for column in summary.drifted_columns] == [feature]
    numbers = json.loads(summary.summary.read_text())
    assert numbers["verdict"] == "drift"
    assert numbers["drifted"] == 1
    assert numbers["features"][feature]["drifted"], numbers["features"][feature]
    assert numbers["versions"] == {"3": 400}
    page = summary.report.read_text()
    assert summary.report == settings.project_root / "reports/monitor/drift.html"
    assert feature in page
    assert "data:image/png;base64," in page, "the figures are inside the page"
    assert feature in summary.describe()


def test_max_drifted_tolerates_that_many_columns(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """With monitor.max_drifted = 1, one drifted column is reported but is not drift."""
    feature = log_with_one_shifted_feature(settings, params, prepared)
    tolerant = params.model_copy(update={"monitor": MonitorParams(max_drifted=1)})

    summary = check(settings, tolerant)

    assert not summary.drifted
    assert [column.name for column in summary.drifted_columns] == [feature]


def test_only_the_given_version_is_checked(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """A version with too few rows is refused even when the log holds enough of others."""
    write_log(settings, prepared.head(250), params.data.target, version="3")

    with pytest.raises(MonitorError, match=r"0 logged rows of model version 4 .*3: 250"):
        check(settings, params, version="4")
    assert check(settings, params, version="3").rows == 250


def test_too_few_rows_is_an_error_not_a_verdict(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """Fewer logged rows than monitor.min_rows stop the check with what to do."""
    write_log(settings, prepared.head(10), params.data.target)

    with pytest.raises(MonitorError, match=r"10 logged rows .* monitor\.min_rows = 200"):
        check(settings, params)
    assert not (settings.project_root / "reports").exists(), "no report without a verdict"


def test_no_request_log_says_how_to_get_one(settings: Settings, params: Params) -> None:
    """Without a request log, the error points at the server and its sampling setting."""
    with pytest.raises(MonitorError, match="make deploy") as caught:
        check(settings, params)
    assert f"{ENV_PREFIX}SERVE_REQUEST_LOG_RATE" in str(caught.value)


def test_missing_training_data_is_named(settings: Settings, params: Params) -> None:
    """A log but no prepared data stops the check, pointing at the data stage."""
    rows = pd.DataFrame({"x": np.arange(300.0), params.data.target: 0})
    write_log(settings, rows, params.data.target)

    with pytest.raises(MonitorError, match=r"no training data .*make data"):
        check(settings, params)


def test_rows_with_other_columns_are_left_out_and_named(
    settings: Settings, params: Params, prepared: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    """Rows a model trained on other columns served are not judged (no false drift), and are named."""
    target = params.data.target
    write_log(settings, prepared.head(250), target, version="3")
    renamed = prepared.head(40).rename(columns={prepared.columns[0]: "new_feature"})
    log = write_log(settings, renamed, target, version="4")  # a retrained model's requests
    path = log.with_name("worker-2.jsonl")
    log.rename(path)
    write_log(settings, prepared.head(250), target, version="3")

    summary = check(settings, params)

    assert summary.rows == 250, "only the rows with the training data's columns are judged"
    assert not summary.drifted, "no column is missing from the judged rows"
    warned = [
        record.getMessage() for record in caplog.records if "not judged" in record.getMessage()
    ]
    assert warned, "the check says what it left out"
    assert "40 logged rows" in warned[0]
    assert "version 4: 40" in warned[0]


def test_the_summary_and_reports_name_only_the_judged_versions(
    settings: Settings, params: Params, prepared: pd.DataFrame
) -> None:
    """Versions whose rows were all left out are not named as checked; the reports say what was left out."""
    target = params.data.target
    renamed = prepared.rename(columns={prepared.columns[0]: "old_feature"})
    old = write_log(settings, renamed.head(30), target, version="1")  # served before a retraining
    old.rename(old.with_name("worker-2.jsonl"))
    one = write_log(settings, renamed.head(1), target, version="3")
    one.rename(one.with_name("worker-3.jsonl"))
    write_log(settings, prepared.head(250), target, version="4")

    summary = check(settings, params)

    assert summary.versions == {"4": 250}
    checked = "Checked 250 logged rows (model version 4) against the training split."
    assert checked in summary.describe().splitlines()
    numbers = json.loads(summary.summary.read_text())
    assert numbers["versions"] == {"4": 250}
    assert numbers["not_judged"]["rows"] == 31
    assert numbers["not_judged"]["versions"] == {"1": 30, "3": 1}
    assert "feature columns of the training data" in numbers["not_judged"]["reason"]
    page = summary.report.read_text()
    assert "250 logged rows (model version 4," in page
    assert "Not judged: 31 logged rows whose columns are not the" in page
    assert "(version 1: 30, version 3: 1)" in page
