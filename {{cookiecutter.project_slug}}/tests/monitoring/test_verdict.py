"""Tests of the drift check's verdict and the lines it shows in the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.monitoring.stats import ColumnDrift
from {{ cookiecutter.package_name }}.monitoring.verdict import DriftSummary
from {{ cookiecutter.package_name }}.pipeline.params import MonitorParams


def column(name: str, psi: float, limit: float = 0.2) -> ColumnDrift:
    """A categorical column's result with this PSI, judged against `limit`."""
    return ColumnDrift(name, "categorical", psi, None, None, None, drifted=psi > limit)


def summary(
    features: list[ColumnDrift],
    prediction: float = 0.01,
    max_drifted: int = 0,
    version: str | None = None,
    folder: Path = Path("/reports"),
    not_judged: dict[str, int] | None = None,
) -> DriftSummary:
    """A verdict on these feature columns, with a prediction of the given PSI."""
    return DriftSummary(
        report=folder / "drift.html",
        summary=folder / "drift.json",
        rows=1234,
        version=version,
        versions={"2": 34, "3": 1200},
        features=tuple(features),
        prediction=column("prediction", prediction),
        limits=MonitorParams(max_drifted=max_drifted),
        not_judged=not_judged or {},
    )


def test_more_drifted_columns_than_allowed_is_drift() -> None:
    """The headline says drift and names the drifted columns, most drifted first."""
    verdict = summary([column("age", 0.3), column("plan", 0.9), column("tenure", 0.05)])

    assert verdict.drifted
    assert [drifted.name for drifted in verdict.drifted_columns] == ["plan", "age"]
    assert verdict.headline() == (
        "Drift: 2 of 4 columns have a PSI above 0.2 (at most 0 may): plan 0.90, age 0.30"
    )


def test_drifted_columns_within_max_drifted_are_no_drift() -> None:
    """Columns above the limit but within monitor.max_drifted are shown, and the verdict is no drift."""
    verdict = summary([column("age", 0.3), column("tenure", 0.05)], max_drifted=1)

    assert not verdict.drifted
    assert verdict.headline() == (
        "No drift: 1 of 3 columns have a PSI above 0.2, within the 1 allowed: age 0.30"
    )


def test_no_drifted_column_names_the_largest_psi() -> None:
    """With nothing above the limit the headline still shows the column closest to it."""
    verdict = summary([column("age", 0.12), column("tenure", 0.05)])

    assert verdict.headline() == "No drift: no column has a PSI above 0.2 (largest: age 0.12)"


def test_the_headline_names_five_columns_at_most() -> None:
    """Past five drifted columns the headline counts the rest."""
    verdict = summary([column(f"f{number}", 0.5 + number / 100) for number in range(7)])

    assert verdict.headline().endswith("f6 0.56, f5 0.55, f4 0.54, f3 0.53, f2 0.52 and 2 more")


@pytest.mark.parametrize(
    ("version", "text"), [(None, "model versions 2, 3"), ("3", "model version 3")]
)
def test_the_versions_checked_are_named(version: str | None, text: str) -> None:
    """The versions behind the rows judged: the one asked for, or every version judged."""
    assert summary([column("age", 0.1)], version=version).versions_text() == text


def test_describe_shows_the_report_relative_to_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal lines give the verdict, the rows checked, and short paths to both reports."""
    monkeypatch.chdir(tmp_path)

    lines = summary([column("age", 0.1)], folder=tmp_path / "reports").describe().splitlines()

    assert lines[1] == "Checked 1,234 logged rows (model versions 2, 3) against the training split."
    assert lines[2] == "Report: reports/drift.html (numbers: reports/drift.json)"


def test_the_rows_not_judged_are_named_with_their_versions() -> None:
    """Rows left out for their columns are counted per version; none left out says nothing."""
    verdict = summary([column("age", 0.1)], not_judged={"1": 331, "3": 1})

    assert verdict.not_judged_text() == (
        "not judged: 332 logged rows whose columns are not the 1 feature columns of the training "
        "data (version 1: 331, version 3: 1): a model trained on other columns served them"
    )
    assert summary([column("age", 0.1)]).not_judged_text() == ""
