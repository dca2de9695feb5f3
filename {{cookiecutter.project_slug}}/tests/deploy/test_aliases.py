"""Tests for the quality gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.deploy.aliases import (
    HISTORY_TAG,
    ROLLED_BACK_TAG,
    PromotionError,
    challenger_of,
    drop_challenger,
    promote,
    promote_challenger,
    reinstate,
    rollback,
    withdraw,
)
from {{ cookiecutter.package_name }}.deploy.gate import format_table, gate
from {{ cookiecutter.package_name }}.pipeline import train
from {{ cookiecutter.package_name }}.pipeline.params import (
    TASK_METRICS,
    Bounds,
    GateParams,
    Params,
    load_params,
)
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.store import connect

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


def aliases(settings: Settings) -> dict[str, str]:
    """The registered model's aliases and the versions they point to."""
    model = connect(settings).get_registered_model(settings.model_name)
    return {alias: str(version) for alias, version in model.aliases.items()}


@pytest.fixture
def fresh_registry(trained_project: Settings) -> Settings:
    """The trained project with no deploy state: no aliases, no history, nothing rolled back."""
    client = connect(trained_project)
    name = trained_project.model_name
    for alias in client.get_registered_model(name).aliases:
        client.delete_registered_model_alias(name, alias)
    client.delete_registered_model_tag(name, HISTORY_TAG)
    for version in client.search_model_versions(f"name='{name}'"):
        client.delete_model_version_tag(name, version.version, ROLLED_BACK_TAG)
    return trained_project


def shipped_params() -> Params:
    """The params.yaml the project ships with."""
    return load_params(Path(__file__).parents[2] / "params.yaml")


def newest_version(settings: Settings) -> str:
    """Train once more and return the new registered version."""
    return str(train.run(settings, shipped_params())["version"])


def test_a_gate_that_judges_nothing_fails(fresh_registry: Settings) -> None:
    """With no limits and no champion to compare with, the gate refuses rather than passes."""
    params = shipped_params()
    unguarded = params.model_copy(update={"gate": GateParams(tolerance=0.01, limits={})})
    with pytest.raises(PromotionError, match="judged nothing"):
        promote(fresh_registry, unguarded)
    assert aliases(fresh_registry) == {}


def test_rollback_needs_a_champion_and_a_version_before_it(fresh_registry: Settings) -> None:
    """Rolling back from no champion, or from the first one, says what state the registry is in."""
    with pytest.raises(PromotionError, match=r"no 'champion' to roll back from: run `make deploy`"):
        rollback(fresh_registry)
    promote(fresh_registry, shipped_params())
    with pytest.raises(PromotionError, match="only version ever deployed: nothing to roll back to"):
        rollback(fresh_registry)


def test_failed_gate_changes_nothing(fresh_registry: Settings) -> None:
    """A candidate below the limits leaves the aliases as they were."""
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    newest_version(fresh_registry)
    limits = {  # out of reach for every metric of the project's task
        name: Bounds(min=1e9) if higher else Bounds(max=-1e9)
        for name, higher in TASK_METRICS[params.task].items()
    }
    impossible = params.model_copy(update={"gate": GateParams(tolerance=0, limits=limits)})
    with pytest.raises(PromotionError, match="failed the quality gate"):
        promote(fresh_registry, impossible)
    assert aliases(fresh_registry) == {"champion": first}


def test_rollback_walks_back_and_is_not_undone_by_the_next_deploy(fresh_registry: Settings) -> None:
    """Rollback goes back one promotion at a time; a rolled-back version returns only by number."""
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    second = newest_version(fresh_registry)
    promote(fresh_registry, params)
    third = newest_version(fresh_registry)
    promote(fresh_registry, params)
    assert aliases(fresh_registry) == {"champion": third, "previous": second}

    assert rollback(fresh_registry) == second
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    promote(fresh_registry, params)
    assert aliases(fresh_registry)["champion"] == second, "the next deploy keeps the rollback"

    assert rollback(fresh_registry) == first
    assert aliases(fresh_registry) == {"champion": first}
    version, _ = promote(fresh_registry, params, version=third)
    assert version == third, "asked for by number, a rolled-back version returns"
    assert aliases(fresh_registry) == {"champion": third, "previous": first}
    with pytest.raises(PromotionError, match="has no version 99"):
        promote(fresh_registry, params, version="99")


def test_an_interrupted_promotion_is_completed_by_the_next_command(
    fresh_registry: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies between the two alias moves, the next deploy or rollback sees one state."""
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    second = newest_version(fresh_registry)
    real_move = MlflowClient.set_registered_model_alias
    moves: list[str] = []

    def dies_after_one_move(self: MlflowClient, name: str, alias: str, version: str) -> None:
        if moves:
            raise KeyboardInterrupt
        moves.append(alias)
        real_move(self, name, alias, version)

    monkeypatch.setattr(MlflowClient, "set_registered_model_alias", dies_after_one_move)
    with pytest.raises(KeyboardInterrupt):
        promote(fresh_registry, params)
    monkeypatch.undo()
    assert aliases(fresh_registry) == {"champion": second}, "interrupted after the champion moved"
    assert rollback(fresh_registry) == first, "the history knew the promotion all the same"
    assert aliases(fresh_registry) == {"champion": first}


def test_a_canary_runs_beside_the_champion_until_promoted_or_aborted(
    fresh_registry: Settings,
) -> None:
    """A gated candidate becomes the challenger; promote makes it champion, abort rolls it back."""
    params = shipped_params()
    with pytest.raises(PromotionError, match="no 'champion' to run a canary beside"):
        promote(fresh_registry, params, canary=True)
    first, _ = promote(fresh_registry, params)
    with pytest.raises(PromotionError, match="is the champion already"):
        promote(fresh_registry, params, canary=True)

    second = newest_version(fresh_registry)
    assert promote(fresh_registry, params, canary=True)[0] == second
    assert aliases(fresh_registry) == {"champion": first, "challenger": second}
    assert challenger_of(fresh_registry) == second
    for blocked in (lambda: promote(fresh_registry, params), lambda: rollback(fresh_registry)):
        with pytest.raises(PromotionError, match=f"version {second} is in a canary"):
            blocked()
    assert promote_challenger(fresh_registry) == second
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    with pytest.raises(PromotionError, match="no canary is running"):
        drop_challenger(fresh_registry)

    third = newest_version(fresh_registry)
    promote(fresh_registry, params, canary=True)
    assert drop_challenger(fresh_registry) == third
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    with pytest.raises(PromotionError, match="is the champion already"):
        promote(fresh_registry, params, canary=True)  # the aborted one is never picked again


def test_a_promotion_the_server_refused_is_undone(fresh_registry: Settings) -> None:
    """Withdraw puts the champion back (the version is rolled back); reinstate undoes a rollback."""
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    second = newest_version(fresh_registry)
    promote(fresh_registry, params)
    assert withdraw(fresh_registry, second) == first
    assert aliases(fresh_registry) == {"champion": first}
    assert promote(fresh_registry, params)[0] == first, "a withdrawn version is not picked again"

    promote(fresh_registry, params, version=second)
    assert rollback(fresh_registry) == first
    reinstate(fresh_registry, second)
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
