"""Tests for the quality gate: verdicts against limits and the champion, and the gate a deploy passes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.deploy.aliases import PromotionError
from {{ cookiecutter.package_name }}.deploy.gate import format_table, gate
from {{ cookiecutter.package_name }}.deploy.strategies import promote
from {{ cookiecutter.package_name }}.pipeline.params import TASK_METRICS, Bounds, GateParams
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry

from .conftest import aliases, newest_version, shipped_params

PARAMS = GateParams(tolerance=0.01, limits={"accuracy": Bounds(min=0.9), "rmse": Bounds(max=60.0)})


def test_first_candidate_needs_only_the_limits() -> None:
    """Without a champion, a candidate within the limits passes."""
    verdicts = gate({"accuracy": 0.95, "log_loss": 0.2}, None, PARAMS)
    assert [(v.metric, v.passed) for v in verdicts] == [("accuracy", True)]


def test_absolute_limit_fails() -> None:
    """A metric below its minimum fails with the reason."""
    (verdict,) = gate({"accuracy": 0.8}, None, PARAMS)
    assert not verdict.passed
    assert verdict.reason == "0.8 < min 0.9"


def test_no_worse_than_champion_beyond_tolerance() -> None:
    """Within tolerance passes; beyond it fails; direction follows the metric."""
    champion = {"accuracy": 0.96, "rmse": 50.0}
    ok = gate({"accuracy": 0.955, "rmse": 50.005}, champion, PARAMS)
    assert all(v.passed for v in ok)
    worse = gate({"accuracy": 0.94, "rmse": 50.5}, champion, PARAMS)
    assert [v.passed for v in worse] == [False, False]
    assert "worse than champion" in worse[0].reason


def test_table_lists_every_column() -> None:
    """The printed table shows candidate, champion, threshold and verdict."""
    table = format_table(gate({"accuracy": 0.8}, {"accuracy": 0.95}, PARAMS))
    assert table.splitlines()[0].split() == [
        "metric",
        "candidate",
        "champion",
        "threshold",
        "verdict",
    ]
    assert "0.8000" in table
    assert "0.9500" in table
    assert ">= 0.9" in table
    assert "FAIL" in table


def test_not_a_number_fails_the_gate() -> None:
    """A NaN metric fails its limit and never passes the champion comparison."""
    (alone,) = gate({"accuracy": float("nan")}, None, PARAMS)
    (compared,) = gate({"log_loss": float("nan")}, {"log_loss": 0.2}, PARAMS)
    assert (alone.passed, alone.reason) == (False, "not a number")
    assert (compared.passed, compared.reason) == (False, "not a number")


def with_gate(settings: Settings, gate_params: GateParams) -> None:
    """Write params.yaml into the project: the shipped parameters with this gate."""
    params = shipped_params().model_copy(update={"gate": gate_params})
    text = yaml.safe_dump(params.model_dump(mode="json"), sort_keys=False)
    Path(settings.params_file).write_text(text)


def test_a_gate_that_judges_nothing_fails(two_versions: Settings) -> None:
    """With no limits and no champion to compare with, the gate refuses rather than passes."""
    Registry.open(two_versions).delete_alias("champion")
    with_gate(two_versions, GateParams(tolerance=0.01, limits={}))
    with pytest.raises(PromotionError, match="judged nothing"):
        promote(two_versions, None, lambda _: None)
    assert aliases(two_versions) == {}


def test_failed_gate_changes_nothing(two_versions: Settings) -> None:
    """A candidate below the limits leaves the aliases as they were."""
    newest_version(two_versions)
    limits = {  # out of reach for every metric of the project's task
        name: Bounds(min=1e9) if higher else Bounds(max=-1e9)
        for name, higher in TASK_METRICS[shipped_params().task].items()
    }
    with_gate(two_versions, GateParams(tolerance=0, limits=limits))
    said: list[str] = []
    with pytest.raises(PromotionError, match="failed the quality gate"):
        promote(two_versions, None, said.append)
    assert aliases(two_versions) == {"champion": "1"}
    assert said == [], "a refused candidate says nothing but the error"
