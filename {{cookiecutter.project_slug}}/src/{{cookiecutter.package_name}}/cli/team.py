"""Team mode (`tracking ...`): the shared MLflow server, its PostgreSQL database, the runs it missed."""

from __future__ import annotations

import sys

import click

from ..settings import Settings, mask_credentials


@click.group()
def tracking() -> None:
    """The tracking store: the team's server, its database, and the runs it missed."""


@tracking.command("server")
@click.pass_obj
def tracking_server(settings: Settings) -> None:
    """Run the team's MLflow tracking server in the foreground (PostgreSQL, proxied artifacts)."""
    import os

    from ..tracking.server import describe, server_command

    argv, env = server_command(settings)
    click.echo(f"{describe(settings)} (Ctrl+C stops it)")
    sys.stdout.flush()  # exec replaces this process: nothing buffered would be printed
    os.environ.update(env)
    os.execv(argv[0], argv)


@tracking.command("db")
@click.pass_obj
def tracking_db(settings: Settings) -> None:
    """Create the tracking server's PostgreSQL database if it does not exist."""
    import sqlalchemy.exc

    from ..tracking.server import create_database

    shown_uri = mask_credentials(settings.tracking_server_backend_uri)
    # Not the project's errors, so the group does not map them: say which driver or database failed.
    try:
        created = create_database(settings)
        if not settings.tune_storage:  # `make tune`'s default study database, on the same server
            from ..tuning.storage import TEAM_DATABASE

            tune_created = create_database(settings, TEAM_DATABASE)
            click.echo(
                f"{'created' if tune_created else 'already there'}: database {TEAM_DATABASE}"
            )
    except (ModuleNotFoundError, sqlalchemy.exc.NoSuchModuleError):
        raise click.ClickException(
            "the PostgreSQL driver is missing: poetry add 'psycopg[binary]' (a tracking=server bake has it)"
        ) from None
    except sqlalchemy.exc.OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else "no connection"
        raise click.ClickException(f"cannot reach PostgreSQL for {shown_uri}: {reason}") from None
    click.echo(f"{'created' if created else 'already there'}: {shown_uri}")


@tracking.command("sync")
@click.pass_obj
def tracking_sync(settings: Settings) -> None:
    """Send the runs spooled while the tracking server was unreachable; safe to repeat."""
    from ..tracking.interruption import spool_folder
    from ..tracking.spool import pending, sync
    from ..tracking.store import connect

    folder = spool_folder()
    if not pending(folder):
        click.echo(f"nothing to sync: no spooled runs in {folder}")
        return
    client = connect(settings)
    for result in sync(client, folder):
        click.echo(
            f"run {result.run_id}: sent {result.sent} metric points ({result.already_there} were "
            f"there already), status {result.status or 'unchanged'}"
        )
