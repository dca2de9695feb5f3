"""The command line: `<project> <command>`; settings and logging are set up here, once.

The commands live in one module per topic; this module makes them one group, and is the one place
where the errors a user can act on (`errors.ProjectError`) become a single `Error: <message>` line.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

import click

from .. import __version__
from ..errors import ProjectError
from ..logging import configure_logging
from ..names import DESCRIPTION, DISTRIBUTION, ENV_PREFIX, PROJECT_NAME
from ..settings import SettingsError, load_settings
from . import data, deploy, image, k8s, ops, reproduce, serve, stages, team, tune

# The optional dependencies (pyproject.toml) that training, tuning and the store's database need; the serving
# image goes without them.
PIPELINE_EXTRA = "pipeline"


class ProjectGroup(click.Group):
    """The root group: domain errors end any command, however deep, the way click ends its own."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command: a ProjectError exits 1 with its message; a bad setting is a usage error, 2."""
        try:
            return super().invoke(ctx)
        except ProjectError as error:
            raise click.ClickException(str(error)) from None
        except SettingsError as error:
            raise click.UsageError(str(error)) from None
        except ModuleNotFoundError as error:
            if (error.name or __package__).partition(".")[0] == __package__.partition(".")[0]:
                raise  # a module of the project itself: a broken install, not a missing extra
            raise click.ClickException(missing_extra(ctx, error.name or "?")) from None


def missing_extra(ctx: click.Context, module: str) -> str:
    """What a command says where a library it needs is not installed: the serving-only install (the image)."""
    command = ctx.invoked_subcommand or ctx.info_name
    return (
        f"`{command}` needs {module.partition('.')[0]}, which is not installed: this environment has only "
        f"what serving an exported model needs. Install the `{PIPELINE_EXTRA}` extra: "
        f"pip install '{DISTRIBUTION}[{PIPELINE_EXTRA}]' (in the project: make install)"
    )


@click.group(
    cls=ProjectGroup,
    help=f"{PROJECT_NAME}: {DESCRIPTION}",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name=DISTRIBUTION)
@click.pass_context
def cli(context: click.Context) -> None:
    """Set up settings and logging once for every command (the help text comes from `names`)."""
    settings = load_settings()
    try:
        configure_logging(settings)
    except OSError as error:
        raise click.ClickException(
            f"cannot write logs to {settings.log_dir} ({error.strerror}): "
            f"make it writable or set {ENV_PREFIX}LOG_DIR"
        ) from None
    context.obj = settings


# Every command, by the module that holds it (`<project> --help` lists them alphabetically).
for command in (
    *(stages.ingest, stages.prepare, stages.train, stages.evaluate),
    *(data.data_source, data.data_schema),
    *(deploy.promote, deploy.deploy, deploy.rollback, deploy.canary, deploy.server),
    *(image.export_model, image.image),
    k8s.k8s,
    *(serve.serve, serve.predict),
    *(ops.info, ops.ui, ops.monitor, ops.audit_ignores),
    *(reproduce.reproduce, reproduce.model_card),
    team.tracking,
    tune.tune,
):
    cli.add_command(command)


def interrupt_on_sigterm() -> None:
    """Turn SIGTERM (a CI timeout, `kill`) into KeyboardInterrupt, so a tracked run ends KILLED, flushed."""

    def interrupt(_signal: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def main() -> None:
    """Entry point of the console script: a broken tracking store is one line, not a traceback."""
    interrupt_on_sigterm()
    try:
        cli(prog_name=DISTRIBUTION)
    except Exception as error:
        message = _store_problem(error)
        if message is None:
            raise
        click.echo(f"Error: {message}", err=True)
        sys.exit(1)


def _store_problem(error: Exception) -> str | None:
    """What MLflow's own error means for the project's store, in one line; None if it is not the store's."""
    if "mlflow" not in sys.modules:  # the store was never opened
        return None
    from ..tracking.store import is_unreachable, unreadable_store

    try:
        settings = load_settings()
    except SettingsError:
        return None
    if is_unreachable(error):
        return (
            f"the MLflow tracking server {settings.safe_tracking_uri} stopped answering: start it "
            "again (make tracking-server) and rerun; runs cut off are in the spool (make tracking-sync)"
        )
    return unreadable_store(error, settings)
