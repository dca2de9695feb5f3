"""The deploy state machine: the registry's `champion`/`previous`/`challenger` aliases, history and rollbacks.

The registry holds the whole deploy state, so any clone of the store knows it: the aliases, a
`champion.history` tag on the registered model (the versions that were champion, oldest first) and a
`rolled_back` tag on each version a rollback took out of service. Every move writes in an order that
`reconcile` can complete, so an interrupted deploy or rollback never leaves the two aliases inconsistent.
"""

from __future__ import annotations

from dataclasses import dataclass

from loguru import logger

from ..errors import ProjectError
from ..model.loaded import InputError
from ..tracking.registry import Registry
from ..tracking.store import CHALLENGER, CHAMPION, PREVIOUS
from .gate import QualityGate, Verdict, format_table

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


def reconcile(registry: Registry) -> DeployState:
    """Read the deploy state and complete whatever an interrupted move left half-done.

    The champion alias wins over the history unless its version was rolled back (an interrupted rollback);
    `previous` is then set to the version before the champion in the history.
    """
    found = registry.record()
    versions, rolled, aliases = found.versions, found.rolled_back, found.aliases
    history = (
        list(found.history)
        if found.history is not None
        else [aliases[a] for a in (PREVIOUS, CHAMPION) if a in aliases]
    )
    history = [v for v in history if v in versions and v not in rolled]
    champion = aliases.get(CHAMPION)
    if champion is not None and champion not in rolled and history[-1:] != [champion]:
        history.append(champion)
    history = [v for i, v in enumerate(history) if i == 0 or history[i - 1] != v]
    state = DeployState(versions, rolled, tuple(history[-HISTORY_LIMIT:]), aliases.get(CHALLENGER))
    registry.move(found, state)
    return state


def promote(
    registry: Registry, gate: QualityGate, version: str | None = None, canary: bool = False
) -> tuple[str, list[Verdict]]:
    """Gate a candidate; on a pass make it `champion` and keep the former one as `previous`.

    The candidate is `version` when given, else the newest version that was never rolled back: a rollback
    is not undone by the next deploy. With `canary`, a passing candidate becomes the `challenger` instead,
    served beside the champion until `promote_challenger` or `drop_challenger`.
    """
    state = reconcile(registry)
    candidate = _candidate(state, registry.name, version, canary)
    verdicts = _judged(gate, candidate, state.champion)
    if candidate in state.rolled_back:  # asked for by number: back in service
        registry.mark_rolled_back(candidate, False)
    if canary:
        registry.set_alias(CHALLENGER, candidate)
    elif candidate != state.champion:
        rolled_back = state.rolled_back - {candidate}
        registry.move(state, DeployState(state.versions, rolled_back, (*state.history, candidate)))
    role = f"the {CHALLENGER}" if canary else CHAMPION
    logger.info("{} version {} is {}", registry.name, candidate, role)
    return candidate, verdicts


def _candidate(state: DeployState, name: str, version: str | None, canary: bool) -> str:
    """The version to promote: `version`, else the newest never rolled back; PromotionError when none."""
    _refuse_during_canary(state)
    if not state.versions:
        raise PromotionError(f"no registered version of {name}: run `make train` first")
    if version is not None and version not in state.versions:
        raise PromotionError(
            f"{name} has no version {version} (it has {', '.join(state.versions)})"
        )
    eligible = [v for v in state.versions if v not in state.rolled_back]
    if version is None and not eligible:
        raise PromotionError(
            f"every version of {name} was rolled back: train a new one, or deploy one by number "
            "(make deploy VERSION=n)"
        )
    candidate = version or eligible[-1]
    if canary and state.champion is None:
        raise PromotionError(
            f"{name} has no '{CHAMPION}' to run a canary beside: make deploy first"
        )
    if canary and candidate == state.champion:
        raise PromotionError(f"version {candidate} is the champion already: train a new version")
    return candidate


def _refuse_during_canary(state: DeployState) -> None:
    """A deploy or rollback while a canary runs would leave the challenger beside another champion."""
    if state.challenger is not None:
        raise PromotionError(
            f"version {state.challenger} is in a canary: end it first "
            "(make canary-promote or make canary-abort)"
        )


def _judged(gate: QualityGate, candidate: str, champion: str | None) -> list[Verdict]:
    """The gate's verdicts on a candidate that passed it; PromotionError says why one did not."""
    try:
        verdicts = gate.judge(candidate, champion)
    except InputError as error:
        raise PromotionError(
            f"version {candidate} cannot score the current test split ({error}): it was trained on "
            "other data; deploy a version trained on this data"
        ) from None
    if not verdicts:
        raise PromotionError(
            f"the quality gate judged nothing for version {candidate}: set gate.limits in params.yaml"
        )
    if not all(v.passed for v in verdicts):
        raise PromotionError(
            f"version {candidate} failed the quality gate:\n{format_table(verdicts)}"
        )
    return verdicts


def promote_challenger(registry: Registry) -> str:
    """End a canary by making its challenger the champion (the champion becomes `previous`)."""
    state = reconcile(registry)
    challenger = state.challenger
    if challenger is None:
        raise PromotionError(
            f"{registry.name} has no '{CHALLENGER}': start a canary with make deploy STRATEGY=canary"
        )
    history = (*state.history, challenger)
    registry.move(state, DeployState(state.versions, state.rolled_back, history))
    registry.delete_alias(CHALLENGER)
    logger.info("{} version {} is {}", registry.name, challenger, CHAMPION)
    return challenger


def drop_challenger(registry: Registry, version: str | None = None) -> str:
    """End a canary without promoting: the challenger is marked rolled back, so no deploy picks it again."""
    current = reconcile(registry).challenger
    challenger = version or current
    if challenger is None:
        raise PromotionError(f"{registry.name} has no '{CHALLENGER}': no canary is running")
    registry.mark_rolled_back(challenger)
    if current == challenger:
        registry.delete_alias(CHALLENGER)
    logger.warning("{} canary of version {} aborted", registry.name, challenger)
    return challenger


def restore(registry: Registry, before: DeployState, refused: str | None = None) -> DeployState:
    """Put the deploy state back exactly as it was `before` a command; only `refused` is rolled back.

    `refused` is a version the command brought in that the server refused (it would not load, check or
    predict): it is tagged, so the next deploy does not pick it again. A failure that is not the model's
    (a busy port, a server that would not start) restores the state and tags nothing.
    """
    now = reconcile(registry)
    refused = refused if refused not in (None, before.champion) else None
    rolled = before.rolled_back | ({refused} if refused else frozenset())
    for number in sorted(now.rolled_back ^ rolled, key=int):
        registry.mark_rolled_back(number, number in rolled)
    challenger = before.challenger if before.challenger != refused else None
    target = DeployState(now.versions, rolled, before.history, challenger)
    registry.move(now, target)
    if challenger is not None and now.challenger != challenger:
        registry.set_alias(CHALLENGER, challenger)
    elif challenger is None and now.challenger is not None:
        registry.delete_alias(CHALLENGER)
    logger.warning("{} deploy state restored: champion {}", registry.name, target.champion)
    return target


def _nothing_before(name: str, current: str, rolled_back: frozenset[str]) -> str:
    """Why a rollback from `current` has nowhere to go: it was the first champion, or the rest were rolled back."""
    if not rolled_back:
        return (
            f"{name} version {current} is the only version ever deployed: nothing to roll back to"
        )
    shown = ", ".join(sorted(rolled_back, key=int)[-5:])
    return (
        f"{name} version {current} is the oldest champion left: the ones deployed after it were rolled "
        f"back (versions {shown}), so there is nothing to roll back to: deploy one by number (make deploy "
        "VERSION=n)"
    )


def rollback(registry: Registry) -> str:
    """Take the champion out of service and serve the one before it; return the version now served.

    Each rollback walks one step further back through the versions that were champion.
    """
    state = reconcile(registry)
    _refuse_during_canary(state)
    current = state.champion
    if current is None:
        raise PromotionError(
            f"{registry.name} has no '{CHAMPION}' to roll back from: run `make deploy` first"
        )
    # The champions before this one, without this one (a version promoted twice is rolled back everywhere).
    earlier = [v for v in state.history[:-1] if v != current]
    earlier = [v for i, v in enumerate(earlier) if i == 0 or earlier[i - 1] != v]
    if not earlier:
        raise PromotionError(_nothing_before(registry.name, current, state.rolled_back))
    # Tagged first: if the moves below are interrupted, the next command completes the rollback.
    registry.mark_rolled_back(current)
    back = DeployState(state.versions, state.rolled_back | {current}, tuple(earlier))
    registry.move(state, back)
    logger.warning("rolled back {}: {} -> {}", registry.name, current, back.champion)
    return str(back.champion)
