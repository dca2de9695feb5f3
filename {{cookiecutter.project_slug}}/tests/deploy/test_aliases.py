"""Tests for the deploy state machine: champion, previous and challenger aliases, history and rollbacks."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.deploy.aliases import (
    PromotionError,
    drop_challenger,
    promote_challenger,
    reconcile,
    restore,
    rollback,
)
from {{ cookiecutter.package_name }}.deploy.aliases import promote as promote_candidate
from {{ cookiecutter.package_name }}.deploy.gate import QualityGate, Verdict
from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import Registry

from .conftest import aliases, newest_version, shipped_params


def promote(
    settings: Settings, params: Params, version: str | None = None, canary: bool = False
) -> tuple[str, list[Verdict]]:
    """Gate a version on these params and promote it, as `make deploy` does before serving."""
    registry = Registry.open(settings)
    gate = QualityGate(registry, params, settings.data_dir)
    return promote_candidate(registry, gate, version, canary)


def test_rollback_needs_a_champion_and_a_version_before_it(fresh_registry: Settings) -> None:
    """Rolling back from no champion, or from the first one, says what state the registry is in."""
    registry = Registry.open(fresh_registry)
    with pytest.raises(PromotionError, match=r"no 'champion' to roll back from: run `make deploy`"):
        rollback(registry)
    promote(fresh_registry, shipped_params())
    with pytest.raises(PromotionError, match="only version ever deployed: nothing to roll back to"):
        rollback(registry)


def test_rollback_walks_back_and_is_not_undone_by_the_next_deploy(fresh_registry: Settings) -> None:
    """Rollback goes back one promotion at a time; a rolled-back version returns only by number."""
    registry = Registry.open(fresh_registry)
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    second = newest_version(fresh_registry)
    promote(fresh_registry, params)
    third = newest_version(fresh_registry)
    promote(fresh_registry, params)
    assert aliases(fresh_registry) == {"champion": third, "previous": second}

    assert rollback(registry) == second
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    promote(fresh_registry, params)
    assert aliases(fresh_registry)["champion"] == second, "the next deploy keeps the rollback"

    assert rollback(registry) == first
    assert aliases(fresh_registry) == {"champion": first}
    version, _ = promote(fresh_registry, params, version=third)
    assert version == third, "asked for by number, a rolled-back version returns"
    assert aliases(fresh_registry) == {"champion": third, "previous": first}
    with pytest.raises(PromotionError, match="has no version 99"):
        promote(fresh_registry, params, version="99")


def test_a_version_promoted_twice_is_rolled_back_everywhere(fresh_registry: Settings) -> None:
    """History A, B, A: rolling back A serves B, and `previous` never names the rolled-back A."""
    registry = Registry.open(fresh_registry)
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    second = newest_version(fresh_registry)
    promote(fresh_registry, params, version=second)
    promote(fresh_registry, params, version=first)
    assert aliases(fresh_registry) == {"champion": first, "previous": second}

    assert rollback(registry) == second
    assert aliases(fresh_registry) == {"champion": second}
    with pytest.raises(PromotionError, match="nothing to roll back to"):
        rollback(registry)


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
    assert rollback(Registry.open(fresh_registry)) == first, "the history knew the promotion"
    assert aliases(fresh_registry) == {"champion": first}


def test_a_canary_runs_beside_the_champion_until_promoted_or_aborted(
    fresh_registry: Settings,
) -> None:
    """A gated candidate becomes the challenger; promote makes it champion, abort rolls it back."""
    registry = Registry.open(fresh_registry)
    params = shipped_params()
    with pytest.raises(PromotionError, match="no 'champion' to run a canary beside"):
        promote(fresh_registry, params, canary=True)
    first, _ = promote(fresh_registry, params)
    with pytest.raises(PromotionError, match="is the champion already"):
        promote(fresh_registry, params, canary=True)

    second = newest_version(fresh_registry)
    assert promote(fresh_registry, params, canary=True)[0] == second
    assert aliases(fresh_registry) == {"champion": first, "challenger": second}
    assert registry.challenger() == second
    for blocked in (lambda: promote(fresh_registry, params), lambda: rollback(registry)):
        with pytest.raises(PromotionError, match=f"version {second} is in a canary"):
            blocked()
    assert promote_challenger(registry) == second
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    with pytest.raises(PromotionError, match="no canary is running"):
        drop_challenger(registry)

    third = newest_version(fresh_registry)
    promote(fresh_registry, params, canary=True)
    assert drop_challenger(registry) == third
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    with pytest.raises(PromotionError, match="is the champion already"):
        promote(fresh_registry, params, canary=True)  # the aborted one is never picked again


def test_restore_puts_the_state_back_and_rolls_back_only_the_refused(
    fresh_registry: Settings,
) -> None:
    """Undoing a deploy restores aliases and history exactly; only a refused newcomer is tagged."""
    registry = Registry.open(fresh_registry)
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    before = reconcile(registry)
    second = newest_version(fresh_registry)
    promote(fresh_registry, params)
    assert restore(registry, before, refused=second).champion == first
    assert aliases(fresh_registry) == {"champion": first}
    assert registry.record().rolled_back == {second}
    assert promote(fresh_registry, params)[0] == first, "a refused version is not picked again"

    promote(fresh_registry, params, version=second)
    before = reconcile(registry)
    assert rollback(registry) == first
    restore(registry, before)
    assert aliases(fresh_registry) == {"champion": second, "previous": first}
    assert registry.record().rolled_back == frozenset(), "an undone rollback leaves no tag"
    restore(registry, before, refused=second)
    assert aliases(fresh_registry)["champion"] == second, "the champion before the command stays"
    assert registry.record().rolled_back == frozenset()


def test_an_alias_the_history_does_not_back_is_put_right(fresh_registry: Settings) -> None:
    """A `previous` alias beside an empty history is removed by the next command; the champion stays."""
    registry = Registry.open(fresh_registry)
    first, _ = promote(fresh_registry, shipped_params())
    registry.client.set_registered_model_tag(registry.name, "champion.history", "[]")
    registry.set_alias("previous", first)
    with pytest.raises(PromotionError, match="only version ever deployed"):
        rollback(registry)
    assert aliases(fresh_registry) == {"champion": first}, "previous was not in the history"


def test_rolling_back_past_the_first_champion_says_what_happened(fresh_registry: Settings) -> None:
    """After three deploys and two rollbacks, the refusal names the rolled-back versions, not 'only one'."""
    registry = Registry.open(fresh_registry)
    params = shipped_params()
    first, _ = promote(fresh_registry, params)
    promote(fresh_registry, params, version=newest_version(fresh_registry))
    promote(fresh_registry, params, version=newest_version(fresh_registry))
    rollback(registry)
    assert rollback(registry) == first
    with pytest.raises(
        PromotionError, match=r"oldest champion left: .* rolled back \(versions"
    ) as caught:
        rollback(registry)
    assert "only version ever deployed" not in str(caught.value)
