"""The serving image: export the champion (`export-model`), build the image, run it, push it (make image)."""

from __future__ import annotations

from pathlib import Path

import click

from ..names import DISTRIBUTION
from ..settings import Settings


@click.command("export-model")
@click.option("--output", type=click.Path(path_type=Path), required=True, help="Folder to write.")
# tracking.store.CHAMPION, written out: importing the store would load MLflow for every command.
@click.option("--alias", default="champion", show_default=True, help="Registry alias to export.")
@click.pass_obj
def export_model(settings: Settings, output: Path, alias: str) -> None:
    """Copy a registered model (MLmodel folder, signature, serving example) into a folder, for an image."""
    from ..model.export import export_model as export

    record = export(settings, output, alias)
    click.echo(f"exported {record['name']} version {record['version']} ({alias}) to {output}")


@click.group()
def image() -> None:
    """Build, run and push the serving image of the champion (make image, image-run, image-push)."""


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
    """Export the champion, build the locked wheelhouse, build the image, and time its start-up (to ready)."""
    import os

    from ..image import runtime as container
    from ..image.context import prepare_context
    from ..net import free_port

    tool = container.builder(builder or None)
    record = prepare_context(settings, python_version, os.environ.get("POETRY", "poetry"))
    built = container.build(
        tool, f"{DISTRIBUTION}:{record['version']}", base_image, settings.project_root
    )
    with container.running(built, free_port()) as seconds:
        pass
    size = container.size(built)
    container.remember(settings.project_root, built)
    click.echo(
        f"image {built.tag} ({tool[0]}): {record['name']} version {record['version']}, {size}, "
        f"ready ({container.READY}) {seconds:.1f} s after its start"
    )


@image.command("run")
@click.pass_obj
def image_run(settings: Settings) -> None:
    """Serve the image `image build` made last, on 127.0.0.1 and the server port, in the foreground."""
    from ..image import runtime as container

    container.serve(container.last_built(settings.project_root), settings.serve_port)


@image.command("push")
@click.option(
    "--repository",
    envvar="IMAGE_REPOSITORY",
    required=True,
    help="Where to push, e.g. ghcr.io/<owner>/<project>; tagged with the model version.",
)
@click.pass_obj
def image_push(settings: Settings, repository: str) -> None:
    """Push the image `image build` made last and print its digest; REGISTRY_TOKEN (and _USER) log in."""
    import os

    from ..image import publish
    from ..image import runtime as container

    built = container.last_built(settings.project_root)
    target, digest = publish.push(
        built, repository, os.environ.get("REGISTRY_USER"), os.environ.get("REGISTRY_TOKEN")
    )
    publish.report(target, digest)
    click.echo(f"pushed {target} ({digest})")
