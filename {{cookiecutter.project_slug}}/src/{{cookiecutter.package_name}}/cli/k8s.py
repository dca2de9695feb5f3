"""Kubernetes: point the manifests in k8s/ at the image `make image` built last (make k8s)."""

from __future__ import annotations

import click

from ..settings import Settings


@click.command("k8s")
@click.option(
    "--strategy",
    type=click.Choice(["rolling", "canary"]),
    default="rolling",
    show_default=True,
    help="rolling: pods are replaced one by one; canary: KServe sends --percent of requests to it.",
)
@click.option(
    "--percent",
    type=click.IntRange(1, 99),
    default=None,
    help="The canary's share of requests, 1..99 [default: 10].",
)
@click.option(
    "--registry",
    default=None,
    help="Where the cluster pulls the image from (e.g. ghcr.io/owner); default: the local tag.",
)
@click.pass_obj
def k8s(settings: Settings, strategy: str, percent: int | None, registry: str | None) -> None:
    """Write the last built image's tag into k8s/ (and the KServe canary's share), then say what to apply."""
    from ..deploy.k8s import apply_rollout, rollout
    from ..image.runtime import last_built

    plan = rollout(last_built(settings.project_root).tag, strategy, percent, registry or None)
    for change in apply_rollout(settings.project_root, plan):
        click.echo(change)
    click.echo(
        f"next: push {plan.image} to the cluster's registry, then `kubectl apply -k k8s` "
        "(rolling update) or `kubectl apply -f k8s/kserve/inferenceservice.yaml` (KServe)"
    )
