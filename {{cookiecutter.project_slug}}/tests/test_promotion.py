"""Tests for the quality gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.pipeline import train
from {{ cookiecutter.package_name }}.pipeline.params import Bounds, GateParams, Params, load_params
from {{ cookiecutter.package_name }}.promotion import (
    PromotionError,
    format_table,
    gate,
    promote,
    rollback,
)
from {{ cookiecutter.package_name }}.settings import Settings

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


def aliases(settings: Settings) -> dict[str, str]:
    """The registered model's aliases and the versions they point to."""
    model = MlflowClient(settings.resolved_tracking_uri).get_registered_model(settings.model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


def test_promote_train_again_and_roll_back(trained_project: Settings) -> None:
    """Promotion sets champion, keeps previous, refuses a failing gate; rollback restores."""
    params = load_params(Path(__file__).parents[1] / "params.yaml")
    version, verdicts = promote(trained_project, params)
    assert all(v.passed for v in verdicts)
    assert aliases(trained_project) == {"champion": version}

    with pytest.raises(PromotionError, match="no 'previous' version"):
        rollback(trained_project)

    train.run(trained_project, params)
    limits = {name: {"min": 2.0} for name in ("r2", "roc_auc")}
    gate_params = {"tolerance": 0, "limits": limits}
    impossible = Params.model_validate({**params.model_dump(), "gate": gate_params})
    with pytest.raises(PromotionError, match="failed the quality gate"):
        promote(trained_project, impossible)
    assert aliases(trained_project) == {"champion": version}, "a failed gate changes nothing"

    newer, _ = promote(trained_project, params)
    assert aliases(trained_project) == {"champion": newer, "previous": version}
    assert rollback(trained_project) == version
    assert aliases(trained_project) == {"champion": version}
