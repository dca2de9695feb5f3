"""The command line: `<project> <command>`; settings and logging are set up here, once."""

from __future__ import annotations

import contextlib
import json
import platform
import signal
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__
from ..logging import configure_logging
from ..names import DESCRIPTION, DISTRIBUTION, ENV_PREFIX, PROJECT_NAME
from ..pipeline import PipelineError
from ..project import ROOT_VARIABLE
from ..settings import Settings, SettingsError, load_settings, mask_credentials
from ..tracking.store import CHALLENGER, CHAMPION
from .serve import serve, server

if TYPE_CHECKING:  # params (YAML, pydantic models) load only for the commands that need them
    from ..pipeline.params import Params

LIBRARIES = ("mlflow", "dvc", "scikit-learn", "pandas", "pydantic-settings", "loguru", "click")


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the project is built on (no imports needed)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@click.group(
    help=f"{PROJECT_NAME}: {DESCRIPTION}", context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name=DISTRIBUTION)
@click.pass_context
def cli(context: click.Context) -> None:
    """Set up settings and logging once for every command (the help text comes from `names`)."""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.UsageError(str(error)) from None
    try:
        configure_logging(settings)
    except OSError as error:
        raise click.ClickException(
            f"cannot write logs to {settings.log_dir} ({error.strerror}): "
            f"make it writable or set {ENV_PREFIX}LOG_DIR"
        ) from None
    context.obj = settings


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def info(settings: Settings, as_json: bool) -> None:
    """Print the resolved settings and library versions."""
    rows = {key: mask_credentials(str(value)) for key, value in settings.model_dump().items()}
    rows["tracking_uri (resolved)"] = settings.safe_tracking_uri
    sections = {"settings": rows, "libraries": library_versions()}
    if as_json:
        click.echo(json.dumps({"version": __version__, **sections}, indent=2))
        return
    click.echo(f"{DISTRIBUTION} {__version__}")
    for title, section in sections.items():
        click.echo(f"\n{title}:")
        for key, value in section.items():
            click.echo(f"  {key:<24} {value}")


def _params(settings: Settings) -> Params:
    from ..pipeline.params import load_params

    try:
        return load_params(settings.params_file)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None


def _run_stage(settings: Settings, name: str) -> None:
    """Run one pipeline stage's runner (imported only now: each stage is its own process)."""
    from importlib import import_module

    params = _params(settings)
    try:
        import_module(f"..pipeline.{name}", __package__).run(settings, params)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.pass_obj
def ingest(settings: Settings) -> None:
    """Load the raw dataset into data/raw/ (DVC stage)."""
    _run_stage(settings, "ingest")


@cli.command("data-source")
@click.argument("source")
@click.option("--target", required=True, help="The column to predict.")
@click.pass_obj
def data_source(settings: Settings, source: str, target: str) -> None:
    """Point params.yaml at a CSV or Parquet file under datasets/ and the column to predict."""
    from ..pipeline.ingest import read_source
    from ..pipeline.params import DataParams, point_data_at

    try:
        frame = read_source(DataParams(source=source, target=target), settings.project_root)
        point_data_at(settings.params_file, source, target)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"params.yaml: data.source {source} ({len(frame)} rows, {frame.shape[1] - 1} features), "
        f"data.target {target}"
    )


@cli.command("data-schema")
@click.pass_obj
def data_schema(settings: Settings) -> None:
    """Write the data contract of data.source from its current data (then review and commit it)."""
    from ..pipeline.ingest import write_schema

    params = _params(settings)
    try:
        path = write_schema(settings, params)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None
    shown = path.relative_to(settings.project_root)
    click.echo(f"wrote {shown}: review it (types, nullable, ranges, categories) and commit it")


@cli.command()
@click.pass_obj
def prepare(settings: Settings) -> None:
    """Split the raw dataset into train, validation and test sets (DVC stage)."""
    _run_stage(settings, "prepare")


@cli.command()
@click.pass_obj
def train(settings: Settings) -> None:
    """Fit the model, track the run in MLflow and register the model (DVC stage)."""
    _run_stage(settings, "train")


@cli.command()
@click.pass_obj
def evaluate(settings: Settings) -> None:
    """Score the model on the test split: metrics.json and plots (DVC stage)."""
    _run_stage(settings, "evaluate")


@cli.command()
@click.option(
    "--version", "version", default=None, help="Promote this version number, not the newest."
)
@click.pass_obj
def promote(settings: Settings, version: str | None) -> None:
    """Quality-gate the newest version never rolled back (or --version) and make it the champion."""
    _promote(settings, version)


@cli.command()
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
    type=click.FloatRange(0, 100, min_open=True),
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
    from ..model.load import resolve_version

    with _deploy_errors():
        if strategy == "canary":
            champion = resolve_version(settings, CHAMPION, None)
            strategies.canary(settings, champion, _promote(settings, version, True), percent)
        else:
            strategies.blue_green(settings, _promote(settings, version))


def _promote(settings: Settings, version: str | None, canary: bool = False) -> str:
    from ..deploy.aliases import promote as promote_candidate
    from ..deploy.gate import format_table

    params = _params(settings)
    with _deploy_errors():
        version, verdicts = promote_candidate(settings, params, version, canary)
    click.echo(format_table(verdicts))
    role = CHALLENGER if canary else CHAMPION
    click.echo(f"{settings.model_name} version {version} is the {role}")
    return version


@contextlib.contextmanager
def _deploy_errors() -> Iterator[None]:
    """The registry's and the server's errors end a deploy command in one line."""
    from ..deploy.aliases import PromotionError
    from ..deploy.server import ServerError
    from ..model.load import ModelNotFoundError

    try:
        yield
    except (PromotionError, ModelNotFoundError, ServerError) as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.pass_obj
def rollback(settings: Settings) -> None:
    """Take the champion out of service and serve the one before it (a running server swaps in place)."""
    from ..deploy import strategies

    with _deploy_errors():
        strategies.rollback(settings)


@cli.group()
def canary() -> None:
    """End a canary started by `deploy --strategy canary`."""


@canary.command("promote")
@click.pass_obj
def canary_promote(settings: Settings) -> None:
    """Make the challenger the champion; the server serves it alone without a restart."""
    from ..deploy import strategies

    with _deploy_errors():
        strategies.canary_promote(settings)


@canary.command("abort")
@click.pass_obj
def canary_abort(settings: Settings) -> None:
    """Drop the challenger (marked rolled back); the champion takes every request again."""
    from ..deploy import strategies

    with _deploy_errors():
        strategies.canary_abort(settings)


@cli.command("export-model")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="Folder to write.")
@click.option("--alias", default=CHAMPION, show_default=True, help="Registry alias to export.")
@click.pass_obj
def export_model(settings: Settings, output: Path, alias: str) -> None:
    """Copy a registered model (MLmodel folder, signature, serving example) into a folder, for an image."""
    from ..model.export import export_model as export
    from ..model.load import ModelNotFoundError

    try:
        record = export(settings, output, alias)
    except ModelNotFoundError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"exported {record['name']} version {record['version']} ({alias}) to {output}")


@cli.group()
def image() -> None:
    """Build and run the serving image of the champion (make image, make image-run)."""


@image.command("build")
@click.option(
    "--builder",
    envvar="IMAGE_BUILDER",
    default=None,
    help="docker, podman or buildah (and options).",
)
@click.option(
    "--base-image", envvar="IMAGE_BASE", default=None, help="The Dockerfile's BASE_IMAGE."
)
@click.option(
    "--python-version", envvar="IMAGE_PYTHON", required=True, help="The base image's Python."
)
@click.pass_obj
def image_build(
    settings: Settings, builder: str | None, base_image: str | None, python_version: str
) -> None:
    """Export the champion, build the locked wheelhouse, build the image, and time its start-up."""
    import os

    from ..image import runtime as container
    from ..model.load import ModelNotFoundError

    try:
        tool = container.builder(builder or None)
        record = container.prepare_context(
            settings, python_version, os.environ.get("POETRY", "poetry")
        )
        built = container.build(
            tool, f"{DISTRIBUTION}:{record['version']}", base_image, settings.project_root
        )
        with container.running(built, _free_port()) as seconds:
            pass
        size = container.size(built)
    except (container.ImageError, ModelNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    container.remember(settings.project_root, built)
    click.echo(
        f"image {built.tag} ({tool[0]}): {record['name']} version {record['version']}, {size}, "
        f"answering /health {seconds:.1f} s after start"
    )


@image.command("run")
@click.pass_obj
def image_run(settings: Settings) -> None:
    """Serve the image `image build` made last, on 127.0.0.1 and the server port, in the foreground."""
    from ..image import runtime as container

    try:
        container.serve(container.last_built(settings.project_root), settings.serve_port)
    except container.ImageError as error:
        raise click.ClickException(str(error)) from None


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DRIFT_EXIT_CODE = 3  # `monitor` found drift (1 means it could not judge)


@cli.command()
@click.option("--version", default=None, help="Only the requests this model version answered.")
@click.pass_obj
def monitor(settings: Settings, version: str | None) -> None:
    """Compare the server's logged requests with the training data; exit 3 on drift (reports/monitor/)."""
    from ..monitoring.drift import MonitorError, check

    try:
        summary = check(settings, _params(settings), version)
    except (MonitorError, PipelineError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(summary.describe())
    if summary.drifted:
        sys.exit(DRIFT_EXIT_CODE)


@cli.command()
@click.option("--input", "source", type=click.Path(path_type=Path), required=True)
@click.option("--output", "target", type=click.Path(path_type=Path), required=True)
@click.option("--alias", default="champion", show_default=True, help="Registry alias to use.")
@click.pass_obj
def predict(settings: Settings, source: Path, target: Path, alias: str) -> None:
    """Batch predictions for a CSV file, streamed in chunks."""
    from ..model.batch import predict_file
    from ..model.load import ModelNotFoundError, load_model
    from ..model.loaded import InputError

    try:
        rows = predict_file(load_model(settings, alias=alias), source, target)
    except (InputError, ModelNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {rows} predictions to {target}")


@cli.command()
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.pass_obj
def ui(settings: Settings, port: int) -> None:
    """Open the MLflow UI on the project's tracking store."""
    import os

    from ..tracking.server import ServerConfigError, mlflow_executable
    from ..tracking.store import connect, project_experiment_id

    try:
        mlflow = mlflow_executable()
    except ServerConfigError as error:
        raise click.ClickException(str(error)) from None

    experiment_id = project_experiment_id(settings, connect(settings))
    # The UI opens on its GenAI overview unless told the workflow: the project trains classical models.
    page = f"#/experiments/{experiment_id}?workflowType=machine_learning"
    if settings.tracking_server:  # the team's server has the UI already
        click.echo(f"MLflow UI: {settings.safe_tracking_uri.rstrip('/')}/{page}")
        return
    url = f"http://127.0.0.1:{port}/{page}"
    # The UI's server reads artifacts through the project's artifact plugin, which finds the project here.
    os.environ[ROOT_VARIABLE] = str(settings.project_root)
    click.echo(f"MLflow UI for {settings.safe_tracking_uri}: {url} (Ctrl+C stops it)")
    sys.stdout.flush()  # exec replaces this process: nothing buffered would be printed
    uri = settings.resolved_tracking_uri
    os.execv(
        mlflow,
        ["mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)],
    )


@cli.group()
def tracking() -> None:
    """The tracking store: the team's server, its database, and the runs it missed."""


@tracking.command("server")
@click.pass_obj
def tracking_server(settings: Settings) -> None:
    """Run the team's MLflow tracking server in the foreground (PostgreSQL, proxied artifacts)."""
    import os

    from ..tracking.server import ServerConfigError, describe, server_command

    try:
        argv, env = server_command(settings)
    except ServerConfigError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{describe(settings)} (Ctrl+C stops it)")
    sys.stdout.flush()  # exec replaces this process: nothing buffered would be printed
    os.environ.update(env)
    os.execv(argv[0], argv)


@tracking.command("db")
@click.pass_obj
def tracking_db(settings: Settings) -> None:
    """Create the tracking server's PostgreSQL database if it does not exist."""
    import sqlalchemy.exc

    from ..tracking.server import ServerConfigError, create_database

    shown_uri = mask_credentials(settings.tracking_server_backend_uri)
    try:
        created = create_database(settings)
    except ServerConfigError as error:
        raise click.ClickException(str(error)) from None
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
    from ..tracking.runs import spool_folder
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


# The server's commands live with the server; the command line is one group all the same.
cli.add_command(serve)
cli.add_command(server)


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
    if "mlflow" not in sys.modules:  # the store was never opened
        return None
    from ..tracking.runs import TrackingInterruptedError
    from ..tracking.store import ServerUnreachableError, is_unreachable, unreadable_store

    if isinstance(error, ServerUnreachableError | TrackingInterruptedError):
        return str(error)  # one line naming the server (no credentials) and the fix
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
