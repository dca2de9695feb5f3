"""Where a version came from: rebuilding it from its lineage (`reproduce`), and its card (`model-card`)."""

from __future__ import annotations

import sys
from pathlib import Path

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


@click.command("model-card")
@click.option("--version", required=True, help="The registered version to describe.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: reports/model-card/README.md).",
)
@click.pass_obj
def model_card(settings: Settings, version: str, output: Path | None) -> None:
    """Write a version's model card (Hugging Face format) to reports/model-card/ and beside its run."""
    from ..card.write import write_card

    path = write_card(settings, version, output)
    click.echo(f"model card of version {version}: {path} (and beside its run in MLflow)")
