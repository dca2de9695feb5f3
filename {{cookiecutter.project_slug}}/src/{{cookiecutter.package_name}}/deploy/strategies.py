"""The deploy strategies: move the registry's aliases, make the server follow, and undo the move if it cannot.

========================  ===============================  ==================================
command                   the registry                     a running server
========================  ===============================  ==================================
deploy (blue-green)       gate, champion = candidate       loads it beside the old one, swaps
deploy --strategy canary  gate, challenger = candidate     sends --percent of requests to it
canary promote / abort    champion = challenger / drop it  swaps (both versions are loaded)
rollback                  champion = the one before        swaps back
server start / stop       (read: the aliases as they are)  restarted on them / stopped
========================  ===============================  ==================================

When the server cannot load or check the new version, it keeps serving the old one and the aliases are put
back as they were: the registry never names a version that is not served. Without a running server, the
server is started. Each command opens the registry once and says what it did, line by line, through `say`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..model.load import find_version
from ..pipeline.params import load_params
from ..serving.plan import Plan
from ..settings import Settings
from ..tracking.registry import Registry
from ..tracking.store import CHALLENGER, CHAMPION
from . import aliases, server
from .gate import QualityGate, format_table
from .launch import ServerPaths
from .lock import exclusive
from .server import ModelRefusedError, ServerError
from .smoke import example_of, smoke_test

STRATEGIES = ("blue-green", "canary")
Say = Callable[[str], None]  # prints one line of what a command did


@exclusive
def promote(settings: Settings, version: str | None, say: Say) -> str:
    """Quality-gate a version (the newest never rolled back, by default) and make it the champion."""
    return _promote(_gate(settings), version, False, say)


@exclusive
def deploy(
    settings: Settings, version: str | None, strategy: str, percent: float, say: Say
) -> None:
    """Quality-gate a version, then serve it: in place of the champion, or on `percent` % beside it."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    gate = _gate(settings)
    server.preflight(settings)
    before = aliases.reconcile(gate.registry)
    promoted = _promote(gate, version, strategy == "canary", say)
    plan: tuple[str, str | None, float]
    if strategy == "canary":
        plan = (find_version(gate.registry, CHAMPION, None), promoted, percent)
        undo = Undo(
            before, f"canary of version {promoted} not started", challenger_removed, promoted
        )
    else:
        plan = (promoted, None, 0.0)
        undo = Undo(before, f"version {promoted} not deployed", champion_back, promoted)
    _serve_or_undo(settings, gate.registry, plan, say, undo)


def _gate(settings: Settings) -> QualityGate:
    """The quality gate on params.yaml's limits, over the project's registry (opened here, once)."""
    params = load_params(settings.params_file)
    return QualityGate(Registry.open(settings), params, settings.data_dir)


def _promote(gate: QualityGate, version: str | None, canary: bool, say: Say) -> str:
    """Gate and promote; say the gate's table and the version's new role."""
    version, verdicts = aliases.promote(gate.registry, gate, version, canary)
    say(format_table(verdicts))
    say(f"{gate.registry.name} version {version} is the {CHALLENGER if canary else CHAMPION}")
    return version


@dataclass(frozen=True)
class Undo:
    """How to take a command back: the deploy state before it, what to say, the version it brought in."""

    before: aliases.DeployState
    failed: str  # the error's first words: what was not done
    restored: Callable[[aliases.DeployState], str]  # its last words: the state put back
    brought: str | None = None  # a version the server may refuse (then rolled back)


def champion_back(state: aliases.DeployState) -> str:
    """What a blue-green undo says."""
    return (
        f"the '{CHAMPION}' alias is back on version {state.champion}"
        if state.champion
        else "no champion"
    )


def champion_again(state: aliases.DeployState) -> str:
    """What undoing a rollback or a canary's promotion says."""
    return f"version {state.champion} is the champion again"


def challenger_removed(_state: aliases.DeployState) -> str:
    """What a canary's undo says."""
    return f"the '{CHALLENGER}' alias is removed"


def _serve_or_undo(
    settings: Settings,
    registry: Registry,
    plan: tuple[str, str | None, float],
    say: Say,
    undo: Undo,
) -> None:
    """Serve the plan; if the server cannot, put the registry back as it was and say what it is now."""
    try:
        _serve(settings, registry, plan, say)
    except ServerError as error:
        refused = undo.brought if isinstance(error, ModelRefusedError) else None
        state = aliases.restore(registry, undo.before, refused)
        marked = f"; version {refused} is marked rolled back" if refused else ""
        raise ServerError(f"{undo.failed}: {error}; {undo.restored(state)}{marked}") from None


@exclusive
def rollback(settings: Settings, say: Say) -> None:
    """Make the version before the champion the champion again, and serve it; undone if it cannot be served."""
    registry = Registry.open(settings)
    # Without a champion, say which alias is missing before anything else is checked.
    find_version(registry, CHAMPION, None)
    server.preflight(settings)
    before = aliases.reconcile(registry)
    back = aliases.rollback(registry)
    say(f"{registry.name} champion is version {back} again")
    failed = f"rollback to version {back} not served"
    _serve_or_undo(settings, registry, (back, None, 0.0), say, Undo(before, failed, champion_again))


@exclusive
def canary_promote(settings: Settings, say: Say) -> None:
    """Make the challenger the champion and serve it alone (it is loaded already: the swap is immediate)."""
    registry = Registry.open(settings)
    server.preflight(settings)
    before = aliases.reconcile(registry)
    version = aliases.promote_challenger(registry)
    failed = f"version {version} not served alone"
    _serve_or_undo(
        settings, registry, (version, None, 0.0), say, Undo(before, failed, champion_again)
    )


@exclusive
def canary_abort(settings: Settings, say: Say) -> None:
    """Drop the challenger: it is marked rolled back, and the champion takes every request again."""
    registry = Registry.open(settings)
    server.preflight(settings)
    dropped = aliases.drop_challenger(registry)
    champion = find_version(registry, CHAMPION, None)
    try:
        _serve(settings, registry, (champion, None, 0.0), say)
    except ServerError as error:
        raise ServerError(f"canary of version {dropped} dropped, but: {error}") from None


@exclusive
def restart(settings: Settings, say: Say) -> None:
    """(Re)start the server on the registry's aliases, keeping a running canary's share; smoke-test it."""
    registry = Registry.open(settings)
    champion = find_version(registry, settings.serve_alias, None)
    challenger = registry.challenger()
    paths = ServerPaths.of(settings)
    plan = Plan.read(paths.plan_file)
    percent = plan.percent if plan and plan.challenger == challenger else 0.0
    server.stop(paths)
    _say_all(say, report(serve(settings, registry, champion, challenger, percent)))


@exclusive
def stop(settings: Settings) -> bool:
    """Stop the background server; whether one was running."""
    return server.stop(ServerPaths.of(settings))


def _serve(
    settings: Settings, registry: Registry, plan: tuple[str, str | None, float], say: Say
) -> None:
    """Serve the plan (champion, challenger, share) and say what is served where."""
    _say_all(say, report(serve(settings, registry, *plan)))


def serve(
    settings: Settings,
    registry: Registry,
    champion: str,
    challenger: str | None = None,
    percent: float = 0.0,
) -> dict[str, Any]:
    """Make the server serve the plan (swap in place, or start one), then smoke-test the new version.

    Raises ServerError when the server does not serve the plan; the running server then still serves
    what it served.
    """
    target, alias = (challenger, CHALLENGER) if challenger else (champion, CHAMPION)
    example = example_of(registry, target)
    state = server.swap(settings, champion, challenger, percent)
    if state is None:
        state = server.start(settings, champion, challenger, percent)
    state["smoke"] = smoke_test(state["url"], example, alias, target, percent)
    return state


def report(state: dict[str, Any]) -> list[str]:
    """What is served where, and how to call it: the lines a deploy ends with."""
    challenger = state.get("challenger")
    served = f"serving {state['model']} version {state['version']} ({CHAMPION}) at {state['url']}"
    if challenger:
        served += f", version {challenger['version']} ({CHALLENGER}) on {challenger['percent']:g}% of requests"
    smoke = state["smoke"]
    body = json.dumps(smoke["example"])
    return [
        served,
        f"smoke prediction ({smoke['alias']} {smoke['version']}): {smoke['predictions']}",
        f"try: curl -s {state['url']}/invocations -H 'Content-Type: application/json' -d '{body}'",
    ]


def _say_all(say: Say, lines: list[str]) -> None:
    for line in lines:
        say(line)
