"""Tests of `make k8s`: the shipped manifests take the built image's tag and the KServe canary's share."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import cli
from {{ cookiecutter.package_name }}.deploy.k8s import (
    INFERENCE_SERVICE,
    KUSTOMIZATION,
    ManifestError,
    apply_rollout,
    rollout,
)

SHIPPED = Path(__file__).parents[2] / "k8s"


@pytest.fixture
def project(project_dir: Path) -> Path:
    """The project folder with the shipped k8s/ manifests."""
    shutil.copytree(SHIPPED, project_dir / "k8s")
    return project_dir


def manifest(root: Path, relative: Path) -> Any:
    """A manifest, parsed."""
    return yaml.safe_load((root / relative).read_text())


def comments(root: Path, relative: Path) -> list[str]:
    """A manifest's comments, each as written (the edit must keep them)."""
    lines = (root / relative).read_text().splitlines()
    return [line[line.index("#") :] for line in lines if "#" in line and "canary" not in line]


def test_the_tag_and_the_canary_share_are_written_comments_kept(project: Path) -> None:
    """A canary sets the share; going back to rolling comments it out; the tag stays a string."""
    before = {path: comments(project, path) for path in (KUSTOMIZATION, INFERENCE_SERVICE)}

    changes = apply_rollout(project, rollout("{{ cookiecutter.project_slug }}:3", "canary", 10, None))

    assert manifest(project, KUSTOMIZATION)["images"] == [
        {"name": "{{ cookiecutter.project_slug }}", "newName": "{{ cookiecutter.project_slug }}", "newTag": "3"}
    ]
    predictor = manifest(project, INFERENCE_SERVICE)["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 10
    assert predictor["containers"][0]["image"] == "{{ cookiecutter.project_slug }}:3"
    assert "canaryTrafficPercent 10" in changes[1]
    assert {path: comments(project, path) for path in before} == before

    apply_rollout(project, rollout("{{ cookiecutter.project_slug }}:4", "rolling", None, None))

    predictor = manifest(project, INFERENCE_SERVICE)["spec"]["predictor"]
    assert "canaryTrafficPercent" not in predictor
    assert predictor["containers"][0]["image"] == "{{ cookiecutter.project_slug }}:4"
    assert "# canaryTrafficPercent: set by make k8s" in (project / INFERENCE_SERVICE).read_text()


def test_a_registry_names_where_the_cluster_pulls_from(project: Path) -> None:
    """REGISTRY replaces the local name's path: the cluster pulls `<registry>/<name>:<tag>`."""
    apply_rollout(project, rollout("{{ cookiecutter.project_slug }}:3", "rolling", None, "ghcr.io/jane/"))

    image = manifest(project, KUSTOMIZATION)["images"][0]
    assert (image["newName"], image["newTag"]) == ("ghcr.io/jane/{{ cookiecutter.project_slug }}", "3")
    container = manifest(project, INFERENCE_SERVICE)["spec"]["predictor"]["containers"][0]
    assert container["image"] == "ghcr.io/jane/{{ cookiecutter.project_slug }}:3"


@pytest.mark.parametrize(
    ("strategy", "percent", "message"),
    [
        ("canary", 0, "PERCENT=0: the canary's share must be 1..99"),
        ("canary", 100, "PERCENT=100: the canary's share must be 1..99"),
        ("blue-green", None, "STRATEGY=blue-green: not one of rolling, canary"),
        ("rolling", 10, "PERCENT is the canary's share: use it with STRATEGY=canary"),
    ],
)
def test_bad_rollouts_are_refused(strategy: str, percent: int | None, message: str) -> None:
    """An unknown strategy, a share outside 1..99 or a share without a canary: one line saying so."""
    with pytest.raises(ManifestError, match=message):
        rollout("{{ cookiecutter.project_slug }}:3", strategy, percent, None)


def test_a_broken_manifest_leaves_both_files_as_they_were(project: Path) -> None:
    """Without its canary line the InferenceService is refused, and the kustomization is not written."""
    service = project / INFERENCE_SERVICE
    service.write_text(service.read_text().replace("# canaryTrafficPercent", "# canary"))
    before = (project / KUSTOMIZATION).read_text(), service.read_text()

    with pytest.raises(ManifestError, match="needs one canaryTrafficPercent line"):
        apply_rollout(project, rollout("{{ cookiecutter.project_slug }}:3", "canary", 10, None))

    assert ((project / KUSTOMIZATION).read_text(), service.read_text()) == before
    assert sorted(path.name for path in (project / "k8s").iterdir()) == sorted(
        path.name for path in SHIPPED.iterdir()
    ), "no temporary file left behind"


def test_the_command_needs_a_built_image_then_says_what_to_apply(project: Path) -> None:
    """Before `make image` it refuses, naming it; after, it prints each change and the next command."""
    refused = CliRunner().invoke(cli, ["k8s"])
    assert refused.exit_code == 1
    assert "make image" in refused.output

    built = project / "build" / "image" / "image.json"
    built.parent.mkdir(parents=True)
    built.write_text(json.dumps({"tool": ["podman"], "tag": "{{ cookiecutter.project_slug }}:7"}))
    result = CliRunner().invoke(cli, ["k8s", "--strategy", "canary", "--percent", "25"])

    assert result.exit_code == 0, result.output
    assert f"{KUSTOMIZATION}: image {{ cookiecutter.project_slug }}:7" in result.output
    assert "kubectl apply -k k8s" in result.output
    assert manifest(project, INFERENCE_SERVICE)["spec"]["predictor"]["canaryTrafficPercent"] == 25
    out_of_range = CliRunner().invoke(cli, ["k8s", "--strategy", "canary", "--percent", "150"])
    assert out_of_range.exit_code == 2
    assert "150 is not in the range 1<=x<=99" in out_of_range.output
