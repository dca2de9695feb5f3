"""Rebuilding a registered version from its lineage, and the verdict (`reproduce`)."""

from __future__ import annotations

import sys

import click

from ..errors import ProjectError
from ..settings import Settings

DIFFERS_EXIT_CODE = 1  # the rebuild is not the same model: the table names what differs
CANNOT_JUDGE_EXIT_CODE = (
    2  # a dirty or missing commit, data in neither cache nor remote, no such version
)


@click.command()
@click.option("--version", required=True, help="The registered version to rebuild.")
@click.pass_obj
def reproduce(settings: Settings, version: str) -> None:
    """Rebuild a version in a temporary worktree and compare: exit 1 if it differs, 2 if it cannot judge."""
    from ..reproduce.check import reproduce as rebuild_and_judge

    try:
        verdict = rebuild_and_judge(settings, version)
    except ProjectError as error:
        click.echo(f"Error: cannot judge version {version}: {error}", err=True)
        sys.exit(CANNOT_JUDGE_EXIT_CODE)
    click.echo(verdict.table())
    if not verdict.reproduced:
        click.echo(f"Error: version {version} {verdict.outcome()}", err=True)
        sys.exit(DIFFERS_EXIT_CODE)
    click.echo(f"version {version} reproduced: every check holds")
