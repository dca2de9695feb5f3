"""The deploy strategies: move the registry's aliases, make the server follow, and undo the move if it cannot.

| command                       | the registry                         | a running server                       |
|-------------------------------|--------------------------------------|----------------------------------------|
| deploy (blue-green)           | gate, champion = candidate           | loads it beside the old one, swaps     |
| deploy --strategy canary      | gate, challenger = candidate         | sends --percent of requests to it      |
| canary promote / abort        | champion = challenger / drop it      | swaps (both versions are loaded)       |
| rollback                      | champion = the one before            | swaps back                             |

When the server cannot load or check the new version, it keeps serving the old one and the aliases are put
back as they were: the registry never names a version that is not served. Without a running server, the
server is started.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..serving.routing import share_of
from ..settings import Settings
from ..tracking.store import CHALLENGER, CHAMPION
from . import server as lifecycle


def serve(
    settings: Settings, champion: str, challenger: str | None = None, percent: float = 0.0
) -> dict[str, Any]:
    """Make the server serve the plan (swap in place, or start one), then smoke-test the new version.

    Raises lifecycle.ServerError when the server does not serve the plan; the running server then still
    serves what it served.
    """
    target, alias = (challenger, CHALLENGER) if challenger else (champion, CHAMPION)
    example = smoke_payload(settings, target)
    state = lifecycle.swap(settings, champion, challenger, percent)
    if state is None:
        state = lifecycle.start(settings, champion, challenger, percent)
    request = pinned(alias, percent)
    answer, version = lifecycle.score(f"{state['url']}/invocations", example, request)
    if version != target:
        raise lifecycle.ServerError(f"the {alias} answered as version {version}, not {target}")
    state["smoke"] = {
        "alias": alias,
        "version": version,
        "predictions": answer["predictions"],
        "example": example,
    }
    return state


def pinned(alias: str, percent: float) -> str:
    """A request id the routes send to `alias`: the smoke test reaches the version it checks."""
    for number in range(100_000):
        request = f"smoke-{number}"
        if (share_of(request) < percent) == (alias == CHALLENGER):
            return request
    raise lifecycle.ServerError(f"no request id routes to the {alias} at {percent}%")


def smoke_payload(settings: Settings, version: str) -> dict[str, object]:
    """One row of the version's own serving example, which MLflow saved beside the model.

    Only that file is fetched: loading the model again here would add seconds to every deploy.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from ..model.loaded import SERVING_EXAMPLE
    from ..tracking.store import connect

    connect(settings)
    uri = f"models:/{settings.model_name}/{version}/{SERVING_EXAMPLE}"
    try:
        payload: dict[str, Any] = json.loads(
            Path(mlflow.artifacts.download_artifacts(uri)).read_text()
        )
    except (MlflowException, OSError):
        raise click.ClickException(
            f"version {version} has no serving input example to smoke-test with"
        ) from None
    if "dataframe_split" in payload:
        payload["dataframe_split"]["data"] = payload["dataframe_split"]["data"][:1]
    return payload


def report(state: dict[str, Any]) -> None:
    """Say what is served where, and how to call it."""
    challenger = state.get("challenger")
    served = f"serving {state['model']} version {state['version']} ({CHAMPION}) at {state['url']}"
    if challenger:
        served += f", version {challenger['version']} ({CHALLENGER}) on {challenger['percent']:g}% of requests"
    click.echo(served)
    smoke = state["smoke"]
    click.echo(f"smoke prediction ({smoke['alias']} {smoke['version']}): {smoke['predictions']}")
    body = json.dumps(smoke["example"])
    click.echo(
        f"try: curl -s {state['url']}/invocations -H 'Content-Type: application/json' -d '{body}'"
    )


def _serve_or_undo(
    settings: Settings,
    plan: tuple[str, str | None, float],
    failed: str,
    undo: Callable[[], str] | None = None,
) -> None:
    """Serve the plan (champion, challenger, share) and report it, or undo the registry move and fail.

    The error says what went wrong, then what `undo` put back.
    """
    try:
        state = serve(settings, *plan)
    except lifecycle.ServerError as error:
        restored = f"; {undo()}" if undo else ""
        raise click.ClickException(f"{failed}: {error}{restored}") from None
    report(state)


def blue_green(settings: Settings, version: str) -> None:
    """Serve the just-promoted champion; if the server cannot, withdraw it (the champion as it was)."""
    from .aliases import withdraw

    def undo() -> str:
        back = withdraw(settings, version)
        return f"the '{CHAMPION}' alias is back on version {back}" if back else "no champion"

    _serve_or_undo(settings, (version, None, 0.0), f"version {version} not deployed", undo)


def canary(settings: Settings, champion: str, challenger: str, percent: float) -> None:
    """Serve the just-gated challenger on `percent`% of requests; if the server cannot, drop it."""
    from .aliases import drop_challenger

    def undo() -> str:
        drop_challenger(settings, challenger)
        return f"the '{CHALLENGER}' alias is removed"

    failed = f"canary of version {challenger} not started"
    _serve_or_undo(settings, (champion, challenger, percent), failed, undo)


def rollback(settings: Settings) -> None:
    """Make the version before the champion the champion again, and serve it; undone if it cannot be served."""
    from ..model.load import resolve_version
    from .aliases import reinstate
    from .aliases import rollback as roll_back

    current = resolve_version(settings, CHAMPION, None)
    back = roll_back(settings)
    click.echo(f"{settings.model_name} champion is version {back} again")

    def undo() -> str:
        reinstate(settings, current)
        return f"version {current} is the champion again"

    _serve_or_undo(settings, (back, None, 0.0), f"rollback to version {back} not served", undo)


def canary_promote(settings: Settings) -> None:
    """Make the challenger the champion and serve it alone (it is loaded already: the swap is immediate)."""
    from .aliases import promote_challenger, withdraw

    version = promote_challenger(settings)

    def undo() -> str:
        return f"version {withdraw(settings, version)} is the champion again"

    _serve_or_undo(settings, (version, None, 0.0), f"version {version} not served alone", undo)


def canary_abort(settings: Settings) -> None:
    """Drop the challenger: it is marked rolled back, and the champion takes every request again."""
    from ..model.load import resolve_version
    from .aliases import drop_challenger

    dropped = drop_challenger(settings)
    champion = resolve_version(settings, CHAMPION, None)
    _serve_or_undo(settings, (champion, None, 0.0), f"canary of version {dropped} dropped, but")
