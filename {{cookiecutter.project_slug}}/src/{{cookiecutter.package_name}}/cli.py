"""The command line: `{{ cookiecutter.project_slug }} <command>`; settings and logging are set up here, once."""

from __future__ import annotations

import json
import platform
from importlib.metadata import PackageNotFoundError, version

import click

from {{ cookiecutter.package_name }} import __version__
from {{ cookiecutter.package_name }}.logging import configure_logging
from {{ cookiecutter.package_name }}.settings import Settings, SettingsError, load_settings

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


def main() -> None:
    """Entry point of the console script."""
    cli(prog_name="{{ cookiecutter.project_slug }}")
