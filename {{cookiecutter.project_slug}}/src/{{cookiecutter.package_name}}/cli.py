"""The command line: `{{ cookiecutter.project_slug }} <command>`; settings and logging are set up here, once."""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.logging import configure_logging
from {{ cookiecutter.package_name }}.pipeline import PipelineError
from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:  # params (YAML, pydantic models) load only for the commands that need them
    from {{ cookiecutter.package_name }}.pipeline.params import Params

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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="{{ cookiecutter.project_slug }}")
@click.pass_context
def cli(context: click.Context) -> None:
    """{{ cookiecutter.project_name }}: {{ cookiecutter.description }}"""
    try:
        settings = load_settings()
    except SettingsError as error:
        raise click.UsageError(str(error)) from None
    configure_logging(settings)
    context.obj = settings


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def info(settings: Settings, as_json: bool) -> None:
    """Print the resolved settings and library versions."""
    rows = {key: str(value) for key, value in settings.model_dump().items()}
    rows["tracking_uri (resolved)"] = settings.resolved_tracking_uri
    sections = {"settings": rows, "libraries": library_versions()}
    if as_json:
        click.echo(json.dumps({"version": __version__, **sections}, indent=2))
        return
    click.echo(f"{{ cookiecutter.project_slug }} {__version__}")
    for title, section in sections.items():
        click.echo(f"\n{title}:")
        for key, value in section.items():
            click.echo(f"  {key:<24} {value}")


def _params(settings: Settings) -> Params:
    from {{ cookiecutter.package_name }}.pipeline.params import load_params

    try:
        return load_params(settings.params_file)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None


def _run_stage(settings: Settings, name: str) -> None:
    """Run one pipeline stage's runner (imported only now: each stage is its own process)."""
    from importlib import import_module

    params = _params(settings)
    try:
        import_module(f"{{ cookiecutter.package_name }}.pipeline.{name}").run(settings, params)
    except PipelineError as error:
        raise click.ClickException(str(error)) from None


@cli.command()
@click.pass_obj
def ingest(settings: Settings) -> None:
    """Load the raw dataset into data/raw/ (DVC stage)."""
    _run_stage(settings, "ingest")


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
@click.pass_obj
def promote(settings: Settings) -> None:
    """Quality-gate the newest model version and make it the champion."""
    from {{ cookiecutter.package_name }}.promotion import PromotionError, format_table
    from {{ cookiecutter.package_name }}.promotion import promote as promote_newest

    params = _params(settings)
    try:
        version, verdicts = promote_newest(settings, params)
    except PromotionError as error:
        raise click.ClickException(str(error)) from None
    click.echo(format_table(verdicts))
    click.echo(f"{settings.model_name} version {version} is the champion")


@cli.command()
@click.pass_obj
def rollback(settings: Settings) -> None:
    """Point the champion alias back at the previous version."""
    from {{ cookiecutter.package_name }}.promotion import PromotionError
    from {{ cookiecutter.package_name }}.promotion import rollback as roll_back

    try:
        version = roll_back(settings)
    except PromotionError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"{settings.model_name} champion is version {version} again")


@cli.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Serve the champion model in the foreground (Ctrl+C stops it)."""
    import uvicorn

    from {{ cookiecutter.package_name }}.serving.app import create_app

    uvicorn.run(create_app(settings), host=settings.serve_host, port=settings.serve_port)


@cli.group()
def server() -> None:
    """Run the model server in the background (what make deploy/undeploy call)."""


@server.command("start")
@click.pass_obj
def server_start(settings: Settings) -> None:
    """(Re)start the background server, wait for health, send one smoke prediction."""
    from {{ cookiecutter.package_name }}.serving import process

    try:
        state = process.start(settings)
        example = _smoke_payload(settings, state)
        answer = process.request_json(f"{state['url']}/invocations", example)
    except process.ServerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"serving {state['model']} version {state['version']} ({state['alias']}) at {state['url']}"
    )
    click.echo(f"smoke prediction: {answer['predictions']}")
    body = json.dumps(example)
    click.echo(
        f"try: curl -s {state['url']}/invocations -H 'Content-Type: application/json' -d '{body}'"
    )


def _smoke_payload(settings: Settings, state: dict[str, object]) -> dict[str, object]:
    """One row of the served version's own serving example, which MLflow saved beside the model.

    Only that file is fetched: loading the model again here would add seconds to every deploy.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    uri = f"models:/{settings.model_name}/{state['version']}/serving_input_example.json"
    try:
        payload: dict[str, Any] = json.loads(
            Path(mlflow.artifacts.download_artifacts(uri)).read_text()
        )
    except (MlflowException, OSError):
        raise click.ClickException(
            "the served model has no serving input example to smoke-test with"
        ) from None
    if "dataframe_split" in payload:
        payload["dataframe_split"]["data"] = payload["dataframe_split"]["data"][:1]
    return payload


@server.command("stop")
@click.pass_obj
def server_stop(settings: Settings) -> None:
    """Stop the background server, if one is running."""
    from {{ cookiecutter.package_name }}.serving import process

    stopped = process.stop(process.ServerPaths.of(settings))
    click.echo("server stopped" if stopped else "no server was running")


@cli.command()
@click.option("--input", "source", type=click.Path(path_type=Path), required=True)
@click.option("--output", "target", type=click.Path(path_type=Path), required=True)
@click.option("--alias", default="champion", show_default=True, help="Registry alias to use.")
@click.pass_obj
def predict(settings: Settings, source: Path, target: Path, alias: str) -> None:
    """Batch predictions for a CSV file, streamed in chunks."""
    from {{ cookiecutter.package_name }}.inference import InputError, load_model, predict_file

    try:
        rows = predict_file(load_model(settings, alias=alias), source, target)
    except InputError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"wrote {rows} predictions to {target}")


@cli.command()
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.pass_obj
def ui(settings: Settings, port: int) -> None:
    """Open the MLflow UI on the project's tracking store."""
    import os
    import shutil

    mlflow = shutil.which("mlflow")
    if mlflow is None:
        raise click.ClickException("the mlflow command is not installed in this environment")
    settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    uri = settings.resolved_tracking_uri
    click.echo(f"MLflow UI for {uri} on http://127.0.0.1:{port} (Ctrl+C stops it)")
    os.execv(
        mlflow,
        ["mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)],
    )


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="{{ cookiecutter.project_slug }}")
