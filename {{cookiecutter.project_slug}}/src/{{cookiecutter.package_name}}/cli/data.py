"""Your own data: point params.yaml at a file (`data-source`), then write its contract (`data-schema`)."""

from __future__ import annotations

import click

from ..settings import Settings


@click.command("data-source")
@click.argument("source")
@click.option("--target", required=True, help="The column to predict.")
@click.pass_obj
def data_source(settings: Settings, source: str, target: str) -> None:
    """Point params.yaml at a CSV or Parquet file under datasets/ and the column to predict."""
    from ..pipeline.ingest import read_source
    from ..pipeline.params import DataParams
    from ..pipeline.params_file import point_data_at

    frame = read_source(DataParams(source=source, target=target), settings.project_root)
    point_data_at(settings.params_file, source, target)
    click.echo(
        f"params.yaml: data.source {source} ({len(frame)} rows, {frame.shape[1] - 1} features), "
        f"data.target {target}"
    )


@click.command("data-schema")
@click.pass_obj
def data_schema(settings: Settings) -> None:
    """Write the data contract of data.source from its current data (then review and commit it)."""
    from ..pipeline.ingest import write_schema
    from ..pipeline.params import load_params

    path = write_schema(settings, load_params(settings.params_file))
    shown = path.relative_to(settings.project_root)
    click.echo(f"wrote {shown}: review it (types, nullable, ranges, categories) and commit it")
