"""The model answering: `serve` in the foreground (what the image runs) and `predict` for a CSV file."""

from __future__ import annotations

from pathlib import Path

import click

from ..settings import Settings


@click.command()
@click.pass_obj
def serve(settings: Settings) -> None:
    """Serve the champion (or SERVE_MODEL_DIR's model) in the foreground; Ctrl+C stops it.

    What the container image runs. With several SERVE_WORKERS, each worker loads the model itself.
    """
    import uvicorn

    from ..serving.app import create_app
    from ..serving.plan import FACTORY

    # Loaded here first, in this process: a missing model fails in one line, not once per worker.
    app = create_app(settings)
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


@click.command()
@click.option("--input", "source", type=click.Path(path_type=Path), required=True)
@click.option("--output", "target", type=click.Path(path_type=Path), required=True)
@click.option("--alias", default="champion", show_default=True, help="Registry alias to use.")
@click.pass_obj
def predict(settings: Settings, source: Path, target: Path, alias: str) -> None:
    """Batch predictions for a CSV file, streamed in chunks."""
    from ..model.batch import predict_file
    from ..model.load import load_model

    rows = predict_file(load_model(settings, alias=alias), source, target)
    click.echo(f"wrote {rows} predictions to {target}")
