"""The Kubernetes manifests' image and rollout (`make k8s`): edits of k8s/ that keep its comments and layout.

A model version on Kubernetes is an image: `make image` builds it, `make k8s` writes its tag into
`k8s/kustomization.yaml` (the Deployment's rolling update, `kubectl apply -k k8s`) and into the KServe
InferenceService, whose `canaryTrafficPercent` it sets for a canary (STRATEGY=canary PERCENT=n) or comments
out (STRATEGY=rolling: the new revision takes every request once ready). Each file is edited line by line,
parsed and checked before it is written in one step: a file that would not apply is never left behind.

Only the standard library and PyYAML: the template's own tests render the canary form with this module.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ProjectError
from ..files import write_atomically

KUSTOMIZATION = Path("k8s", "kustomization.yaml")
INFERENCE_SERVICE = Path("k8s", "kserve", "inferenceservice.yaml")
STRATEGIES = ("rolling", "canary")
CANARY_PERCENT = 10  # as `make deploy STRATEGY=canary`'s default share
CANARY_UNSET = "# canaryTrafficPercent: set by make k8s STRATEGY=canary PERCENT=n"

# `key: value  # comment` on a line of its own; the value is replaced, indent and comment kept.
VALUE_LINE = r"^(?P<indent>[ ]+)(?P<key>{keys}):[ ]*(?P<value>[^#\s]*)(?P<comment>[ ]+#.*)?$"
CANARY_LINE = re.compile(r"^(?P<indent>[ ]+)(?:#[ ]*)?canaryTrafficPercent:.*$", re.MULTILINE)


class ManifestError(ProjectError, ValueError):
    """A manifest cannot take the image or the rollout; the message names the file and what to do."""


@dataclass(frozen=True)
class Rollout:
    """What `make k8s` writes: the image (registry path and tag) and how KServe shares traffic."""

    repository: str
    tag: str
    strategy: str = "rolling"
    percent: int | None = None

    @property
    def image(self) -> str:
        """The image reference a pod pulls."""
        return f"{self.repository}:{self.tag}"


def rollout(image: str, strategy: str, percent: int | None, registry: str | None) -> Rollout:
    """The rollout of a built image (`name:tag`), checked: a known strategy, a canary's share in 1..99."""
    if strategy not in STRATEGIES:
        raise ManifestError(f"STRATEGY={strategy}: not one of {', '.join(STRATEGIES)}")
    if strategy == "rolling" and percent is not None:
        raise ManifestError("PERCENT is the canary's share: use it with STRATEGY=canary")
    if strategy == "canary":
        percent = CANARY_PERCENT if percent is None else percent
        if not 1 <= percent <= 99:
            raise ManifestError(f"PERCENT={percent}: the canary's share must be 1..99 (percent)")
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:
        raise ManifestError(f"{image}: not an image tag name:tag (run make image again)")
    if registry:
        repository = f"{registry.rstrip('/')}/{repository.rpartition('/')[2]}"
    return Rollout(repository, tag, strategy, percent)


def apply_rollout(root: Path, plan: Rollout) -> list[str]:
    """Write the image and the canary share into both manifests; what changed, one line per file.

    Both files are edited and checked before either is written.
    """
    edits = {
        KUSTOMIZATION: _kustomization(_read(root, KUSTOMIZATION), plan),
        INFERENCE_SERVICE: _inference_service(_read(root, INFERENCE_SERVICE), plan),
    }
    for relative, text in edits.items():
        write_atomically(root / relative, text)
    share = (
        f", canaryTrafficPercent {plan.percent} (the new revision gets {plan.percent} % of requests)"
        if plan.strategy == "canary"
        else ", no canary (the new revision takes every request once ready)"
    )
    return [
        f"{KUSTOMIZATION}: image {plan.image}",
        f"{INFERENCE_SERVICE}: image {plan.image}{share}",
    ]


def _read(root: Path, relative: Path) -> str:
    """A manifest's text; ManifestError if it is missing."""
    try:
        return (root / relative).read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(
            f"{relative}: cannot be read ({error.strerror}): restore it from the template"
        ) from None


def _kustomization(text: str, plan: Rollout) -> str:
    """The kustomization with its one `images:` entry set to the image."""
    edited = _set_values(text, KUSTOMIZATION, {"newName": plan.repository, "newTag": plan.tag})
    images = _load(edited, KUSTOMIZATION).get("images")
    if not (isinstance(images, list) and len(images) == 1 and isinstance(images[0], dict)):
        raise ManifestError(f"{KUSTOMIZATION}: `images:` must hold one entry (restore it)")
    if (images[0].get("newName"), str(images[0].get("newTag"))) != (plan.repository, plan.tag):
        raise ManifestError(f"{KUSTOMIZATION}: newName and newTag must be in its `images:` entry")
    return edited


def _inference_service(text: str, plan: Rollout) -> str:
    """The InferenceService with its predictor's image and canary share set."""
    edited = _set_values(text, INFERENCE_SERVICE, {"image": plan.image})
    lines = CANARY_LINE.findall(edited)
    if len(lines) != 1:
        raise ManifestError(
            f"{INFERENCE_SERVICE}: needs one canaryTrafficPercent line in spec.predictor, found "
            f"{len(lines)} (restore it: {CANARY_UNSET})"
        )
    canary = f"canaryTrafficPercent: {plan.percent}" if plan.percent else CANARY_UNSET
    edited = CANARY_LINE.sub(lambda line: line["indent"] + canary, edited)
    predictor = _load(edited, INFERENCE_SERVICE).get("spec", {}).get("predictor", {})
    containers = predictor.get("containers") or [{}]
    if containers[0].get("image") != plan.image:
        raise ManifestError(
            f"{INFERENCE_SERVICE}: the image must be spec.predictor.containers[0]'s"
        )
    if predictor.get("canaryTrafficPercent") != plan.percent:
        raise ManifestError(f"{INFERENCE_SERVICE}: canaryTrafficPercent must be in spec.predictor")
    return edited


def _set_values(text: str, relative: Path, values: dict[str, str]) -> str:
    """Set each key's one line to the value, quoted (a tag `3` stays a string); ManifestError otherwise."""
    for key, value in values.items():
        line = re.compile(VALUE_LINE.format(keys=re.escape(key)), re.MULTILINE)
        found = len(line.findall(text))
        if found != 1:
            raise ManifestError(
                f"{relative}: needs one `{key}:` line to set, found {found} (restore the file)"
            )
        quoted = json.dumps(value)

        def replaced(match: re.Match[str], quoted: str = quoted) -> str:
            return f"{match['indent']}{match['key']}: {quoted}{match['comment'] or ''}"

        text = line.sub(replaced, text)
    return text


def _load(text: str, relative: Path) -> dict[str, Any]:
    """The edited manifest, parsed; ManifestError if it is not one YAML mapping."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ManifestError(f"{relative}: not valid YAML after the edit ({error})") from None
    if not isinstance(document, dict):
        raise ManifestError(f"{relative}: not a YAML mapping (restore it from the template)")
    return document
