"""The server's commands: `serve` in the foreground, `server start|stop` in the background (make deploy)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..settings import Settings


@click.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Serve the champion model in the foreground (Ctrl+C stops it)."""
    import uvicorn

    from ..inference import ModelNotFoundError
    from .app import create_app

    try:
        app = create_app(settings)
    except ModelNotFoundError as error:
        raise click.ClickException(str(error)) from None
    uvicorn.run(app, host=settings.serve_host, port=settings.serve_port)


@click.group()
def server() -> None:
    """Run the model server in the background (what make deploy/undeploy call)."""


@server.command("start")
@click.pass_obj
def server_start(settings: Settings) -> None:
    """(Re)start the background server, wait for health, send one smoke prediction."""
    start_and_smoke_test(settings)


def start_and_smoke_test(settings: Settings) -> None:
    """Start the server on the alias's version, smoke-test it with its serving example, say how to call it."""
    from ..inference import ModelNotFoundError, resolve_version
    from . import lifecycle

    try:
        version = resolve_version(settings, settings.serve_alias, None)
        example = _smoke_payload(settings, version)
        state = lifecycle.start(settings, version)
        answer = lifecycle.request_json(f"{state['url']}/invocations", example)
    except (lifecycle.ServerError, ModelNotFoundError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"serving {state['model']} version {state['version']} ({state['alias']}) at {state['url']}"
    )
    click.echo(f"smoke prediction: {answer['predictions']}")
    body = json.dumps(example)
    click.echo(
        f"try: curl -s {state['url']}/invocations -H 'Content-Type: application/json' -d '{body}'"
    )


def _smoke_payload(settings: Settings, version: str) -> dict[str, object]:
    """One row of the served version's own serving example, which MLflow saved beside the model.

    Only that file is fetched: loading the model again here would add seconds to every deploy.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    from ..tracking.store import connect

    connect(settings)
    uri = f"models:/{settings.model_name}/{version}/serving_input_example.json"
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
    from . import lifecycle

    stopped = lifecycle.stop(lifecycle.ServerPaths.of(settings))
    click.echo("server stopped" if stopped else "no server was running")
