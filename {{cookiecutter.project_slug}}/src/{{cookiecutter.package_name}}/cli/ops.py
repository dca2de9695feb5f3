"""Looking at the project: its settings (`info`), its runs (`ui`), the served model's drift (`monitor`)."""

from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import click

from .. import __version__
from ..audit import IGNORE_FILE, load_ignores
from ..names import DISTRIBUTION
from ..project import ROOT_VARIABLE
from ..settings import Settings, mask_credentials

LIBRARIES = ("mlflow", "dvc", "scikit-learn", "pandas", "pydantic-settings", "loguru", "click")
DRIFT_EXIT_CODE = 3  # `monitor` found drift (1 means it could not judge)


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the project is built on (no imports needed)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@click.command()
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


@click.command()
@click.option("--port", default=5000, show_default=True, help="Port on 127.0.0.1.")
@click.pass_obj
def ui(settings: Settings, port: int) -> None:
    """Open the MLflow UI on the project's tracking store."""
    import os

    from ..tracking.server import mlflow_executable
    from ..tracking.store import connect, project_experiment_id

    mlflow = mlflow_executable()
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


@click.command()
@click.option("--version", default=None, help="Only the requests this model version answered.")
@click.pass_obj
def monitor(settings: Settings, version: str | None) -> None:
    """Compare the server's logged requests with the training data; exit 3 on drift (reports/monitor/)."""
    from ..monitoring.drift import check
    from ..pipeline.params import load_params

    summary = check(settings, load_params(settings.params_file), version)
    click.echo(summary.describe())
    if summary.drifted:
        sys.exit(DRIFT_EXIT_CODE)


@click.command("audit-ignores")
@click.pass_obj
def audit_ignores(settings: Settings) -> None:
    """Check the vulnerability ignore list and print its ids, one a line, for `make audit`.

    An entry without a reason, without an expiry date or past it fails with one line naming it.
    """
    from datetime import date

    for ignore in load_ignores(settings.project_root / IGNORE_FILE, date.today()):
        click.echo(ignore.id)
