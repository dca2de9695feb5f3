"""Hyperparameter search (`tune ...`): run a search, join one as a worker, apply its best trial, watch it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ..settings import Settings

if TYPE_CHECKING:
    from ..tuning.search import Search


@click.group()
def tune() -> None:
    """Hyperparameter search on Optuna: one study shared by every worker, each trial an MLflow run."""


def _search(settings: Settings) -> Search:
    """The search of the current data and params.yaml."""
    from ..pipeline.params import load_params
    from ..tuning.search import Search

    return Search.of(settings, load_params(settings.params_file))


@tune.command("run")
@click.option(
    "--trials", type=click.IntRange(1), default=20, show_default=True, help="Trials to add."
)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Processes."
)
@click.pass_obj
def run(settings: Settings, trials: int, workers: int) -> None:
    """Search on this machine: WORKERS processes share TRIALS trials of the study (a rerun resumes it)."""
    from ..tuning.search import run_search
    from ..tuning.storage import shown_location

    search = _search(settings)
    click.echo(
        f"study {search.name} in {shown_location(settings)}: {trials} trials, {workers} workers"
    )
    run_search(search, trials, workers)


@tune.command("worker")
@click.option(
    "--trials", type=click.IntRange(1), default=20, show_default=True, help="Trials to run."
)
@click.option(
    "--parent-run", default=None, hidden=True, help="The search's run (set by `tune run`)."
)
@click.option("--seed-offset", type=int, default=0, hidden=True, help="Added to tune.seed.")
@click.option(
    "--until", type=int, default=None, hidden=True, help="Work while the study is smaller."
)
@click.pass_obj
def worker(
    settings: Settings, trials: int, parent_run: str | None, seed_offset: int, until: int | None
) -> None:
    """Join the study from this machine and run TRIALS of its trials (team mode: any number of machines)."""
    from ..tuning.search import run_worker

    search = _search(settings)
    run_worker(search, trials, parent_run, seed_offset, until)


@tune.command("apply")
@click.pass_obj
def apply(settings: Settings) -> None:
    """Write the best trial's parameters into params.yaml (comments kept); `make train` then uses them."""
    from ..tuning.apply import apply_best

    search = _search(settings)
    changes = apply_best(settings, search)
    if not changes:
        click.echo("params.yaml already holds the best trial's parameters: nothing to change")
        return
    click.echo(f"params.yaml, model: (best trial of study {search.name})")
    for name, before, after in changes:
        click.echo(f"  {name}: {before!r} -> {after!r}")
    click.echo("make train now trains, tracks and registers a model with them")


@tune.command("ui")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Default: TUNE_UI_PORT.")
@click.pass_obj
def ui(settings: Settings, port: int | None) -> None:
    """Serve Optuna's dashboard over the project's studies on 127.0.0.1 until Ctrl+C."""
    import optuna_dashboard

    from ..tuning.storage import open_storage, shown_location

    port = port or settings.tune_ui_port
    storage = open_storage(settings)
    click.echo(
        f"Optuna dashboard for {shown_location(settings)} on http://127.0.0.1:{port}/dashboard "
        "(Ctrl+C stops it)"
    )
    optuna_dashboard.run_server(storage, host="127.0.0.1", port=port)
