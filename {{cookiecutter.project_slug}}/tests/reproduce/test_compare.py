"""The verdict's checks: data, params, metrics within tolerance, predictions; and what a verdict says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.pipeline.params import ReproduceParams, parse_params
from {{ cookiecutter.package_name }}.pipeline.strict_yaml import load_yaml
from {{ cookiecutter.package_name }}.reproduce.compare import (
    Verdict,
    data_checks,
    metric_checks,
    params_check,
    prediction_check,
)
from {{ cookiecutter.package_name }}.reproduce.rebuild import stage_env

POLICY = ReproduceParams(metric_tolerance=0.001, prediction_tolerance=0.01, min_agreement=0.99)


def test_data_must_have_the_recorded_hashes() -> None:
    """Each input the rebuild consumed holds only with the recorded md5; an unrecorded one differs."""
    checks = data_checks(
        {"data/raw": "r", "data/prepared": "p"}, {"data/raw": "r", "data/prepared": "q", "new": "n"}
    )
    assert {c.name: c.holds for c in checks} == {
        "data data/raw": True,
        "data data/prepared": False,
        "data new": False,
    }


def test_params_must_be_the_hashed_ones() -> None:
    """The commit's params.yaml must hash as the run recorded; no record never holds."""
    assert params_check("abc", "abc").holds
    assert not params_check("abc", "abd").holds
    assert not params_check("", "abd").holds


def test_metrics_hold_within_the_tolerance_only() -> None:
    """A metric within the tolerance holds, beyond it or missing on one side it differs, NaN never holds."""
    recorded = {"accuracy": 0.9, "roc_auc": 0.95, "f1": 0.8, "log_loss": float("nan")}
    rebuilt = {"accuracy": 0.9005, "roc_auc": 0.96, "log_loss": float("nan"), "extra": 1.0}
    checks = {c.name: c.holds for c in metric_checks(recorded, rebuilt, POLICY.metric_tolerance)}
    assert checks == {
        "test_accuracy": True,
        "test_roc_auc": False,
        "test_f1": False,
        "test_log_loss": False,
        "test_extra": False,
    }


def test_class_predictions_agree_at_the_declared_share() -> None:
    """Classes agree when the share of equal predictions reaches min_agreement."""
    same, one_off = np.array([0, 1] * 50), np.array([0, 1] * 49 + [1, 1])
    assert prediction_check("classification", same, same.copy(), POLICY).holds
    assert prediction_check("classification", same, one_off, POLICY).holds  # 99 of 100
    assert not prediction_check("classification", same, 1 - same, POLICY).holds


def test_values_agree_within_the_prediction_tolerance() -> None:
    """Regression values hold while the largest difference is within prediction_tolerance."""
    values = np.array([1.0, 2.0, 3.0])
    assert prediction_check("regression", values, values + 0.005, POLICY).holds
    check = prediction_check("regression", values, values + np.array([0, 0, 0.5]), POLICY)
    assert (check.holds, check.rebuilt) == (False, "0.5")


def test_a_verdict_names_what_differs() -> None:
    """The outcome is `reproduced` when all holds, else names each failing check; the table shows all."""
    checks = (params_check("a", "a"), *metric_checks({"rmse": 1.0}, {"rmse": 2.0}, 0.1))
    verdict = Verdict("4", "c" * 40, checks)
    assert (verdict.reproduced, verdict.outcome()) == (False, "differs: test_rmse")
    assert "| test_rmse | 1 | 2 | NO |" in verdict.table()
    assert Verdict("4", "c" * 40, checks[:1]).outcome() == "reproduced"


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"metric_tolerance": -0.1}, "reproduce.metric_tolerance=-0.1"),
        ({"prediction_tolerance": -1}, "reproduce.prediction_tolerance=-1"),
        ({"min_agreement": 1.5}, "reproduce.min_agreement=1.5"),
        ({"metric_tolerence": 0.1}, "reproduce.metric_tolerence"),
    ],
)
def test_params_refuse_a_bad_reproduce_section(
    section: dict[str, float], named: str, params_text: str
) -> None:
    """A negative tolerance, an agreement above 1 or an unknown key is refused, naming the key."""
    with pytest.raises(PipelineError, match="invalid parameters") as raised:
        parse_params({**load_yaml(params_text, "params.yaml"), "reproduce": section})
    assert named in str(raised.value)


def test_the_shipped_params_declare_the_policy(params_text: str) -> None:
    """params.yaml ships a reproduce section with tolerances for platform differences only."""
    policy = parse_params(load_yaml(params_text, "params.yaml")).reproduce
    assert 0 < policy.metric_tolerance <= 1e-3
    assert policy.min_agreement == 1.0


def test_the_rebuild_runs_the_commits_code_against_a_throwaway_store() -> None:
    """The stages' environment puts the worktree's code first and tracks into the throwaway store."""
    env = stage_env(Path("/tree"), Path("/scratch/store"))
    assert env["PYTHONPATH"] == "/tree/src"
    assert env["{{ cookiecutter.package_name | upper }}_TRACKING_URI"] == "sqlite:////scratch/store/mlflow.db"
    assert "MLFLOW_TRACKING_URI" not in env
