"""Tests of the drift check's reports: drift.json for scripts and the self-contained drift.html."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from {{ cookiecutter.package_name }}.monitoring.report import draw_column, summary_json, write_reports
from {{ cookiecutter.package_name }}.monitoring.requests import RequestLog, read_request_log
from {{ cookiecutter.package_name }}.monitoring.stats import compare_column
from {{ cookiecutter.package_name }}.monitoring.verdict import DriftSummary
from {{ cookiecutter.package_name }}.pipeline.params import MonitorParams

from tests.monitoring.conftest import record

REFERENCE = pd.DataFrame(
    {
        "size": [float(n % 50) for n in range(200)],
        "plan <b>": ["basic", "pro"] * 100,
        "y": [0, 1] * 100,
    }
)


def judged(log: RequestLog, folder: Path, not_judged: dict[str, int] | None = None) -> DriftSummary:
    """The verdict on the log against REFERENCE, its reports to be written in `folder`."""
    features = [
        compare_column(name, REFERENCE[name], log.features[name], 0.2)
        for name in ("size", "plan <b>")
    ]
    return DriftSummary(
        report=folder / "drift.html",
        summary=folder / "drift.json",
        rows=len(log.predictions),
        version=None,
        versions=log.judged,
        features=tuple(features),
        prediction=compare_column(
            "prediction", REFERENCE["y"], log.predictions, 0.2, "categorical"
        ),
        limits=MonitorParams(),
        not_judged=not_judged or {},
    )


def shifted_log(folder: Path) -> RequestLog:
    """200 logged rows like REFERENCE but sizes shifted far up, with one line cut short."""
    lines = [
        record({"size": float(n % 50) + 100, "plan <b>": ["basic", "pro"][n % 2]}, n % 2)
        for n in range(200)
    ]
    (folder / "1.jsonl").write_text("".join(lines) + '{"time": "2026-11-26T07:0')
    return read_request_log(folder)


def test_the_page_holds_the_verdict_a_row_and_a_figure_per_column(tmp_path: Path) -> None:
    """drift.html shows the verdict, every column (names escaped) linked to its inline figure."""
    log = shifted_log(tmp_path)
    verdict = judged(log, tmp_path / "reports")

    write_reports(verdict, log, REFERENCE, "y")

    page = verdict.report.read_text(encoding="utf-8")
    assert f'<p class="verdict drift">{verdict.headline()}</p>' in page
    assert "plan &lt;b&gt;" in page
    assert "plan <b>" not in page, "column names are escaped"
    assert "prediction (vs training y)" in page
    assert page.count('<img id="column-') == 3
    assert page.count('<a href="#column-') == 3
    assert "1 line cut short" in page
    assert "2026-11-26 07:00 to 2026-11-26 07:00 UTC" in page


def test_the_json_holds_the_verdict_and_every_column(tmp_path: Path) -> None:
    """drift.json carries the verdict, the limits, what was read, and each column's numbers."""
    log = shifted_log(tmp_path)
    verdict = judged(log, tmp_path / "reports")

    write_reports(verdict, log, REFERENCE, "y")

    numbers = json.loads(verdict.summary.read_text())
    assert numbers == summary_json(verdict, log)
    assert (numbers["verdict"], numbers["drifted"], numbers["rows"]) == ("drift", 1, 200)
    assert (numbers["psi_limit"], numbers["max_drifted"], numbers["skipped_lines"]) == (0.2, 0, 1)
    assert numbers["first"] == numbers["last"] == "2026-11-26T07:00:00.123000+00:00"
    assert numbers["versions"] == {"3": 200}
    assert numbers["not_judged"] == {"rows": 0, "versions": {}, "reason": None}
    assert set(numbers["features"]) == {"size", "plan <b>"}
    assert numbers["features"]["size"]["drifted"]
    assert (
        numbers["features"]["size"]["logged_mean"] > numbers["features"]["size"]["reference_mean"]
    )


def test_both_reports_say_which_rows_were_not_judged_and_why(tmp_path: Path) -> None:
    """Rows left out for their columns are counted per version, with the reason, in the page and the JSON."""
    log = shifted_log(tmp_path)
    verdict = judged(log, tmp_path / "reports", not_judged={"1": 331, "3": 1})

    write_reports(verdict, log, REFERENCE, "y")

    page = verdict.report.read_text(encoding="utf-8")
    assert "200 logged rows (model version 3," in page
    assert "Not judged: 332 logged rows whose columns are not the 2 feature columns" in page
    assert "(version 1: 331, version 3: 1): a model trained on other columns served them." in page
    numbers = json.loads(verdict.summary.read_text())
    assert numbers["versions"] == {"3": 200}
    assert numbers["not_judged"] == {
        "rows": 332,
        "versions": {"1": 331, "3": 1},
        "reason": "their columns are not the 2 feature columns of the training data: "
        "a model trained on other columns served them",
    }


def test_a_log_without_times_has_no_window(tmp_path: Path) -> None:
    """Records without a time leave first and last empty rather than failing."""
    (tmp_path / "1.jsonl").write_text(
        '{"features": {"size": 1.0, "plan <b>": "pro"}, "prediction": 1}\n'
    )
    log = read_request_log(tmp_path)

    numbers = summary_json(judged(log, tmp_path), log)

    assert (numbers["first"], numbers["last"]) == (None, None)


def test_a_figure_is_drawn_even_when_the_log_has_no_numbers() -> None:
    """A numeric column never logged still gets its figure, titled with its PSI."""
    column = compare_column("size", REFERENCE["size"], pd.Series([None] * 5, dtype=object), 0.2)

    figure = draw_column(column, REFERENCE["size"], pd.Series([None] * 5, dtype=object))

    assert figure.axes[0].get_title() == f"size: PSI {column.psi:.3f}"
