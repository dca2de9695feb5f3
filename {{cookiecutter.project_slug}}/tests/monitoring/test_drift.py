"""Tests for the drift check of the served model's request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.drift import (
    OTHER,
    MonitorError,
    bin_categorical,
    bin_numeric,
    check,
    compare,
    psi,
    read_request_log,
)
from {{ cookiecutter.package_name }}.names import ENV_PREFIX
from {{ cookiecutter.package_name }}.pipeline.ingest import read_source
from {{ cookiecutter.package_name }}.pipeline.params import MonitorParams, Params, load_params
from {{ cookiecutter.package_name }}.pipeline.prepare import PREPARED_DIR, Splits, split_dataset
from {{ cookiecutter.package_name }}.serving.request_log import log_folder
from {{ cookiecutter.package_name }}.settings import Settings

from tests.pipeline.conftest import PARAMS_FILE


@pytest.fixture(scope="module")
def params() -> Params:
    """The params.yaml shipped with the project."""
    return load_params(PARAMS_FILE)


@pytest.fixture(scope="module")
def splits(params: Params) -> Splits:
    """The default dataset, split as the prepare stage splits it."""
    dataset = read_source(params.data, Path.cwd())
    return split_dataset(dataset, params.data.target, params.task, params.split, params.seed)


@pytest.fixture
def prepared(settings: Settings, splits: Splits) -> pd.DataFrame:
    """The splits written where the prepare stage writes them; returns the training split."""
    folder = settings.data_dir / PREPARED_DIR
    folder.mkdir(parents=True)
    for name, part in splits._asdict().items():
        part.to_csv(folder / f"{name}.csv", index=False)
    return splits.train


def record(features: dict[str, Any], prediction: Any, version: str = "3") -> str:
    """One request log line, as the server writes it."""
    line = {
        "time": "2026-11-26T07:00:00.123+00:00",
        "version": version,
        "alias": "champion",
        "features": features,
        "prediction": prediction,
    }
    return json.dumps(line) + "\n"


def write_log(settings: Settings, rows: pd.DataFrame, target: str, version: str = "3") -> Path:
    """A worker's request log of these rows, their target logged as the prediction."""
    folder = log_folder(settings.log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "worker-1.jsonl"
    lines = [
        record({str(k): v for k, v in row.items() if k != target}, row[target], version)
        for row in rows.to_dict(orient="records")
    ]
    path.write_text("".join(lines))
    return path


def test_identical_samples_have_no_drift() -> None:
    """The same sample against itself has a PSI of zero; a fresh sample of the same law stays small."""
    rng = np.random.default_rng(0)
    sample = pd.Series(rng.normal(size=2000))
    assert psi(bin_numeric(sample, sample)) == pytest.approx(0.0, abs=1e-12)
    again = pd.Series(rng.normal(size=2000))
    assert psi(bin_numeric(sample, again)) < 0.05, "sampling noise is not drift"


def test_a_shifted_normal_drifts() -> None:
    """Moving a normal sample by one standard deviation takes the PSI well past 0.2."""
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.normal(size=2000))
    shifted = pd.Series(rng.normal(loc=1.0, size=2000))
    assert psi(bin_numeric(reference, shifted)) > 0.2


def test_numeric_bins_are_reference_deciles_with_open_ends() -> None:
    """Ten bins at the reference's deciles; values past its range land in the outer bins."""
    reference = pd.Series(np.arange(1000, dtype=float))
    binned = bin_numeric(reference, pd.Series([-1e9, 1e9]))
    assert len(binned.labels) == 10
    np.testing.assert_allclose(binned.reference, 0.1)
    assert (binned.logged[0], binned.logged[-1]) == (0.5, 0.5)


def test_unseen_categories_count_as_other() -> None:
    """A category the training data never had is counted in the other bin, and drifts."""
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    logged = pd.Series(["a"] * 50 + ["c"] * 50)
    binned = bin_categorical(reference, logged)
    assert binned.labels == ["a", "b", OTHER]
    np.testing.assert_allclose(binned.logged, [0.5, 0.0, 0.5])
    assert psi(binned) > 0.2
    assert psi(bin_categorical(reference, reference.sample(frac=1, random_state=0))) == 0.0


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

    version_3 = read_request_log(tmp_path, version="3")
    assert list(version_3.predictions) == [0, 1]
    assert version_3.versions == {"2": 1, "3": 2}, "the versions seen are the whole log's"


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
