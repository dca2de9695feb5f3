"""Promote a registered model: the quality gate, the `champion`/`previous` aliases, and rollback.

The registry holds the whole deploy state, so any clone of the store knows it: the aliases, a
`champion.history` tag on the registered model (the versions that were champion, oldest first) and a
`rolled_back` tag on each version a rollback took out of service. Every move writes in an order that
`_reconcile` can complete, so an interrupted deploy or rollback never leaves the two aliases inconsistent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger

from ..pipeline.params import Params
from ..settings import Settings
from ..tracking.store import CHALLENGER, CHAMPION, PREVIOUS, connect

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

from ..errors import ProjectError
from .gate import Verdict, format_table, gate, score_version

HISTORY_TAG = "champion.history"
ROLLED_BACK_TAG = "rolled_back"
HISTORY_LIMIT = 100  # versions kept in the history tag (registry tag values are limited in size)


class PromotionError(ProjectError, RuntimeError):
    """The candidate cannot be promoted, or there is nothing to roll back to."""


@dataclass(frozen=True)
class DeployState:
    """The registry's deploy state of one model: every version, which were rolled back, the history."""

    versions: tuple[str, ...]
    rolled_back: frozenset[str]
    history: tuple[str, ...]
    challenger: str | None = (
        None  # the version in a canary: an alias of its own, outside the history
    )

    @property
    def champion(self) -> str | None:
        """The version being served, if any."""
        return self.history[-1] if self.history else None

    @property
    def aliases(self) -> dict[str, str]:
        """The aliases this state means: champion is the last of the history, previous the one before."""
        return dict(zip((CHAMPION, PREVIOUS), reversed(self.history[-2:]), strict=False))

    @property
    def record(self) -> str:
        """The history as the registry tag holds it."""
        return json.dumps(list(self.history))


def _reconcile(client: MlflowClient, name: str) -> DeployState:
    """Read the deploy state and complete whatever an interrupted move left half-done.

    The champion alias wins over the history unless its version was rolled back (an interrupted rollback);
    `previous` is then set to the version before the champion in the history.
    """
    found = client.search_model_versions(f"name='{name}'")
    versions = tuple(sorted((str(v.version) for v in found), key=int))
    rolled = frozenset(str(v.version) for v in found if v.tags.get(ROLLED_BACK_TAG) == "true")
    model = client.get_registered_model(name) if versions else None
    aliases = {key: str(value) for key, value in (model.aliases if model else {}).items()}
    raw = model.tags.get(HISTORY_TAG) if model else None
    history = json.loads(raw) if raw else [aliases[a] for a in (PREVIOUS, CHAMPION) if a in aliases]
    history = [v for v in history if v in versions and v not in rolled]
    champion = aliases.get(CHAMPION)
    if champion is not None and champion not in rolled and history[-1:] != [champion]:
        history.append(champion)
    history = [v for i, v in enumerate(history) if i == 0 or history[i - 1] != v]
    state = DeployState(versions, rolled, tuple(history[-HISTORY_LIMIT:]), aliases.get(CHALLENGER))
    _write(client, name, state, aliases, raw)
    return state


def _refuse_during_canary(state: DeployState) -> None:
    """A deploy or rollback while a canary runs would leave the challenger beside another champion."""
    if state.challenger is not None:
        raise PromotionError(
            f"version {state.challenger} is in a canary: end it first "
            "(make canary-promote or make canary-abort)"
        )


def _write(
    client: MlflowClient,
    name: str,
    state: DeployState,
    aliases: Mapping[str, str],
    record: str | None,
) -> None:
    """Change what differs from the registry's `aliases` and `record` to match `state`.

    The aliases move first, champion first (it is what is served); the history is recorded last.
    """
    for alias in (CHAMPION, PREVIOUS):
        target = state.aliases.get(alias)
        if target is not None and aliases.get(alias) != target:
            client.set_registered_model_alias(name, alias, target)
        elif target is None and alias in aliases:
            client.delete_registered_model_alias(name, alias)
    if state.versions and state.record != record:
        client.set_registered_model_tag(name, HISTORY_TAG, state.record)


def _candidate(state: DeployState, name: str, version: str | None) -> str:
    if not state.versions:
        raise PromotionError(f"no registered version of {name}: run `make train` first")
    if version is not None:
        if version not in state.versions:
            raise PromotionError(
                f"{name} has no version {version} (it has {', '.join(state.versions)})"
            )
        return version
    eligible = [v for v in state.versions if v not in state.rolled_back]
    if not eligible:
        raise PromotionError(
            f"every version of {name} was rolled back: train a new one, or deploy one by number "
            "(make deploy VERSION=n)"
        )
    return eligible[-1]


def promote(
    settings: Settings, params: Params, version: str | None = None, canary: bool = False
) -> tuple[str, list[Verdict]]:
    """Gate a candidate; on a pass make it `champion` and keep the former one as `previous`.

    The candidate is `version` when given, else the newest version that was never rolled back: a rollback
    is not undone by the next deploy. With `canary`, a passing candidate becomes the `challenger` instead,
    served beside the champion until `promote_challenger` or `drop_challenger`.
    """
    client = connect(settings)
    name = settings.model_name
    state = _reconcile(client, name)
    _refuse_during_canary(state)
    candidate = _candidate(state, name, version)
    champion = state.champion
    if canary and champion is None:
        raise PromotionError(
            f"{name} has no '{CHAMPION}' to run a canary beside: make deploy first"
        )
    if canary and candidate == champion:
        raise PromotionError(f"version {candidate} is the champion already: train a new version")
    from ..model.loaded import InputError

    try:
        candidate_scores = score_version(settings, params, candidate)
    except InputError as error:
        raise PromotionError(
            f"version {candidate} cannot score the current test split ({error}): it was trained on "
            "other data; deploy a version trained on this data"
        ) from None
    champion_scores = None
    if champion and champion != candidate:
        try:
            champion_scores = score_version(settings, params, champion)
        except InputError as error:  # the data changed (your own dataset): nothing to compare with
            logger.warning(
                "champion version {} cannot score the current test split ({}): the candidate is "
                "judged on the absolute limits only",
                champion,
                error,
            )
    verdicts = gate(candidate_scores, champion_scores, params.gate)
    if not verdicts:
        raise PromotionError(
            f"the quality gate judged nothing for version {candidate}: set gate.limits in params.yaml"
        )
    if not all(v.passed for v in verdicts):
        raise PromotionError(
            f"version {candidate} failed the quality gate:\n{format_table(verdicts)}"
        )
    if canary:
        if candidate in state.rolled_back:
            client.delete_model_version_tag(name, candidate, ROLLED_BACK_TAG)
        client.set_registered_model_alias(name, CHALLENGER, candidate)
        logger.info("{} version {} is the {}", name, candidate, CHALLENGER)
        return candidate, verdicts
    if candidate != champion:
        if candidate in state.rolled_back:  # asked for by number: back in service
            client.delete_model_version_tag(name, candidate, ROLLED_BACK_TAG)
        promoted = DeployState(
            state.versions, state.rolled_back - {candidate}, (*state.history, candidate)
        )
        _write(client, name, promoted, state.aliases, state.record)
    logger.info("{} version {} is {}", name, candidate, CHAMPION)
    return candidate, verdicts


def challenger_of(settings: Settings) -> str | None:
    """The version in a canary, if one runs."""
    client = connect(settings)
    name = settings.model_name
    if not client.search_registered_models(f"name='{name}'"):
        return None
    aliases = client.get_registered_model(name).aliases
    return str(aliases[CHALLENGER]) if CHALLENGER in aliases else None


def promote_challenger(settings: Settings) -> str:
    """End a canary by making its challenger the champion (the champion becomes `previous`)."""
    client = connect(settings)
    name = settings.model_name
    state = _reconcile(client, name)
    challenger = state.challenger
    if challenger is None:
        raise PromotionError(
            f"{name} has no '{CHALLENGER}': start a canary with make deploy STRATEGY=canary"
        )
    promoted = DeployState(state.versions, state.rolled_back, (*state.history, challenger))
    _write(client, name, promoted, state.aliases, state.record)
    client.delete_registered_model_alias(name, CHALLENGER)
    logger.info("{} version {} is {}", name, challenger, CHAMPION)
    return challenger


def drop_challenger(settings: Settings, version: str | None = None) -> str:
    """End a canary without promoting: the challenger is marked rolled back, so no deploy picks it again."""
    client = connect(settings)
    name = settings.model_name
    current = _reconcile(client, name).challenger
    challenger = version or current
    if challenger is None:
        raise PromotionError(f"{name} has no '{CHALLENGER}': no canary is running")
    client.set_model_version_tag(name, challenger, ROLLED_BACK_TAG, "true")
    if current == challenger:
        client.delete_registered_model_alias(name, CHALLENGER)
    logger.warning("{} canary of version {} aborted", name, challenger)
    return challenger


def withdraw(settings: Settings, version: str) -> str | None:
    """Undo a promotion the server could not serve: `version` is rolled back; return the champion now."""
    client = connect(settings)
    name = settings.model_name
    state = _reconcile(client, name)
    client.set_model_version_tag(name, version, ROLLED_BACK_TAG, "true")
    history = state.history[:-1] if state.history[-1:] == (version,) else state.history
    back = DeployState(state.versions, state.rolled_back | {version}, history)
    _write(client, name, back, state.aliases, state.record)
    return back.champion


def reinstate(settings: Settings, version: str) -> None:
    """Undo a rollback the server could not serve: `version` is the champion again."""
    client = connect(settings)
    name = settings.model_name
    client.delete_model_version_tag(name, version, ROLLED_BACK_TAG)
    state = _reconcile(client, name)
    again = DeployState(state.versions, state.rolled_back - {version}, (*state.history, version))
    _write(client, name, again, state.aliases, state.record)


def rollback(settings: Settings) -> str:
    """Take the champion out of service and serve the one before it; return the version now served.

    Each rollback walks one step further back through the versions that were champion.
    """
    client = connect(settings)
    name = settings.model_name
    state = _reconcile(client, name)
    _refuse_during_canary(state)
    current = state.champion
    if current is None:
        raise PromotionError(
            f"{name} has no '{CHAMPION}' to roll back from: run `make deploy` first"
        )
    if len(state.history) < 2:
        raise PromotionError(
            f"{name} version {current} is the only version ever deployed: nothing to roll back to"
        )
    # Tagged first: if the moves below are interrupted, the next command completes the rollback.
    client.set_model_version_tag(name, current, ROLLED_BACK_TAG, "true")
    back = DeployState(state.versions, state.rolled_back | {current}, state.history[:-1])
    _write(client, name, back, state.aliases, state.record)
    logger.warning("rolled back {}: {} -> {}", name, current, back.champion)
    return str(back.champion)
