"""The server's commands: `serve` in the foreground, `server start|stop` in the background (make deploy)."""

from __future__ import annotations

import click

from ..settings import Settings


@click.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Serve the champion (or SERVE_MODEL_DIR's model) in the foreground; Ctrl+C stops it.

    What the container image runs. With several SERVE_WORKERS, each worker loads the model itself.
    """
    import uvicorn

    from ..model.load import ModelNotFoundError
    from ..serving.app import create_app
    from ..serving.plan import FACTORY

    try:
        app = create_app(
            settings
        )  # loaded here first: a missing model fails in one line, not per worker
    except ModelNotFoundError as error:
        raise click.ClickException(str(error)) from None
    if settings.serve_workers == 1:
        uvicorn.run(app, host=settings.serve_host, port=settings.serve_port, access_log=False)
        return
    del app
    uvicorn.run(
        FACTORY,
        factory=True,
        host=settings.serve_host,
        port=settings.serve_port,
        workers=settings.serve_workers,
        access_log=False,
    )


@click.group()
def server() -> None:
    """Run the model server in the background (what make deploy/undeploy call)."""


@server.command("start")
@click.pass_obj
def server_start(settings: Settings) -> None:
    """(Re)start the background server on the registry's aliases, wait for health, smoke-test it."""
    from ..deploy import server as lifecycle
    from ..deploy import strategies
    from ..deploy.aliases import challenger_of
    from ..model.load import ModelNotFoundError, resolve_version
    from ..serving.plan import Plan

    try:
        champion = resolve_version(settings, settings.serve_alias, None)
        challenger = challenger_of(settings)
        plan = Plan.read(lifecycle.ServerPaths.of(settings).plan_file)
        percent = plan.percent if plan and plan.challenger == challenger else 0.0
        lifecycle.stop(lifecycle.ServerPaths.of(settings))
        strategies.report(strategies.serve(settings, champion, challenger, percent))
    except (lifecycle.ServerError, ModelNotFoundError) as error:
        raise click.ClickException(str(error)) from None


@server.command("stop")
@click.pass_obj
def server_stop(settings: Settings) -> None:
    """Stop the background server, if one is running."""
    from ..deploy import server as lifecycle

    stopped = lifecycle.stop(lifecycle.ServerPaths.of(settings))
    click.echo("server stopped" if stopped else "no server was running")
