"""Deploying: gate and promote a version, serve it (blue-green or canary), roll back; the background server.

Each command is one call of `deploy.strategies`, which moves the registry's aliases, makes the server
follow, and puts the aliases back if the server cannot; it says what it did through `click.echo`.
"""

from __future__ import annotations

import math
from typing import Any

import click

from ..settings import Settings


@click.command()
@click.option(
    "--version", "version", default=None, help="Promote this version number, not the newest."
)
@click.pass_obj
def promote(settings: Settings, version: str | None) -> None:
    """Quality-gate the newest version never rolled back (or --version) and make it the champion."""
    from ..deploy import strategies

    strategies.promote(settings, version, click.echo)


class Share(click.FloatRange):
    """A share of requests in percent: above 0, at most 100, and a number (click's range lets NaN in)."""

    name = "percent"

    def __init__(self) -> None:
        """A range of (0, 100]."""
        super().__init__(0, 100, min_open=True)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The share as a float; refused, naming the option, when it is not a finite number."""
        share = float(super().convert(value, param, ctx))
        if not math.isfinite(share):
            self.fail(f"{value!r} is not a number between 0 and 100", param, ctx)
        return share


@click.command()
@click.option(
    "--version", "version", default=None, help="Deploy this version number, not the newest."
)
@click.option(
    "--strategy",
    type=click.Choice(["blue-green", "canary"]),
    default="blue-green",
    show_default=True,
    help="blue-green: the server swaps to the new champion; canary: it gets --percent of requests.",
)
@click.option(
    "--percent",
    type=Share(),
    default=10.0,
    show_default=True,
    help="The canary's share of requests.",
)
@click.pass_obj
def deploy(settings: Settings, version: str | None, strategy: str, percent: float) -> None:
    """Quality-gate a version, then serve it: in place of the champion, or as a canary beside it.

    A running server swaps without a restart; otherwise one is started. If the server cannot serve the
    new version, it keeps the old one and the aliases are put back.
    """
    from ..deploy import strategies

    strategies.deploy(settings, version, strategy, percent, click.echo)


@click.command()
@click.pass_obj
def rollback(settings: Settings) -> None:
    """Take the champion out of service and serve the one before it (a running server swaps in place)."""
    from ..deploy import strategies

    strategies.rollback(settings, click.echo)


@click.group()
def canary() -> None:
    """End a canary started by `deploy --strategy canary`."""


@canary.command("promote")
@click.pass_obj
def canary_promote(settings: Settings) -> None:
    """Make the challenger the champion; the server serves it alone without a restart."""
    from ..deploy import strategies

    strategies.canary_promote(settings, click.echo)


@canary.command("abort")
@click.pass_obj
def canary_abort(settings: Settings) -> None:
    """Drop the challenger (marked rolled back); the champion takes every request again."""
    from ..deploy import strategies

    strategies.canary_abort(settings, click.echo)


@click.group()
def server() -> None:
    """Run the model server in the background (what make deploy/undeploy call)."""


@server.command("start")
@click.pass_obj
def server_start(settings: Settings) -> None:
    """(Re)start the background server on the registry's aliases, wait for health, smoke-test it."""
    from ..deploy import strategies

    strategies.restart(settings, click.echo)


@server.command("stop")
@click.pass_obj
def server_stop(settings: Settings) -> None:
    """Stop the background server, if one is running."""
    from ..deploy import strategies

    click.echo("server stopped" if strategies.stop(settings) else "no server was running")


@server.command("check")
@click.pass_obj
def server_check(settings: Settings) -> None:
    """The serving gate: fuzz the running server's API (schemathesis), then its p95 latency vs serve.p95_ms."""
    from ..deploy import serving_gate

    serving_gate.check(settings, click.echo)
