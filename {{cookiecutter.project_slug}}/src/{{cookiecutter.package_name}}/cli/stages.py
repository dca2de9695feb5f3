"""The pipeline's stages, as dvc.yaml runs them: ingest, prepare, train, evaluate (`make train`)."""

from __future__ import annotations

import click

from ..settings import Settings


def run_stage(settings: Settings, name: str) -> None:
    """Run one pipeline stage's runner (imported only now: each stage is its own process)."""
    from importlib import import_module

    from ..pipeline.params import load_params

    params = load_params(settings.params_file)
    import_module(f"..pipeline.{name}", __package__).run(settings, params)


@click.command()
@click.pass_obj
def ingest(settings: Settings) -> None:
    """Load the raw dataset into data/raw/ (DVC stage)."""
    run_stage(settings, "ingest")


@click.command()
@click.pass_obj
def prepare(settings: Settings) -> None:
    """Split the raw dataset into train, validation and test sets (DVC stage)."""
    run_stage(settings, "prepare")


@click.command()
@click.pass_obj
def train(settings: Settings) -> None:
    """Fit the model, track the run in MLflow and register the model (DVC stage)."""
    run_stage(settings, "train")


@click.command()
@click.pass_obj
def evaluate(settings: Settings) -> None:
    """Score the model on the test split: metrics.json and plots (DVC stage)."""
    run_stage(settings, "evaluate")
