"""The generated Kubernetes and KServe manifests, checked offline: what a cluster would refuse is refused here.

`kubectl kustomize` renders the base in k8s/ (kubectl is a prerequisite of these tests, in CI too);
kubernetes-validate checks every rendered manifest strictly (unknown fields refused) against the oldest and
the newest Kubernetes release the project supports; the InferenceService, plain and in the canary form
`make k8s STRATEGY=canary` writes, is checked against KServe's CRD schema, made strict the same way.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cookiecutter.main import cookiecutter

from tests.conftest import TEMPLATE

# The supported window (docs/kubernetes.md says it): the oldest release whose schemas kubernetes-validate
# ships, which is also the first with every field the manifests use (emptyDir sizeLimit is GA in 1.25), and
# the newest it ships.
KUBERNETES_RELEASES = ("1.25.0", "1.37.0")
KSERVE_SCHEMA = TEMPLATE.parent / "shared" / "schemas" / "kserve-v1beta1-inferenceservice.json"
INFERENCE_SERVICE = Path("k8s", "kserve", "inferenceservice.yaml")
TASKS = ("classification", "regression")
KINDS = {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}


@pytest.fixture(scope="module")
def baked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A bake of each task (the manifests are read, not changed: shared by the module's tests)."""
    return {
        task: Path(
            cookiecutter(
                str(TEMPLATE),
                no_input=True,
                extra_context={"init_git": "no", "task": task},
                output_dir=str(tmp_path_factory.mktemp(task)),
            )
        )
        for task in TASKS
    }


def kustomize(project: Path) -> list[dict[str, Any]]:
    """The manifests `kubectl apply -k k8s` would send, rendered offline."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is not on PATH: these tests render k8s/ with `kubectl kustomize` "
            "(install kubectl 1.32 or newer; CI needs it too)"
        )
    rendered = subprocess.run(
        [kubectl, "kustomize", str(project / "k8s")], capture_output=True, text=True, check=False
    )
    assert rendered.returncode == 0, f"kubectl kustomize k8s failed:\n{rendered.stderr}"
    return [document for document in yaml.safe_load_all(rendered.stdout) if document]


def strict(schema: Any) -> Any:
    """The schema with `additionalProperties: false` wherever it lists properties and allows no others.

    Kubernetes prunes unknown fields of a CRD's structural schema silently; a typo would be dropped, not
    refused. Made strict, the check refuses it.
    """
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tightened = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        tightened["additionalProperties"] = False
    return tightened


@pytest.fixture(scope="module")
def kserve_validator() -> jsonschema.protocols.Validator:
    """A validator of KServe's InferenceService (v1beta1), refusing unknown fields."""
    assert KSERVE_SCHEMA.is_file(), f"KServe's schema is missing: {KSERVE_SCHEMA}"
    schema = strict(json.loads(KSERVE_SCHEMA.read_text()))
    validator_class = jsonschema.validators.validator_for(schema, jsonschema.Draft202012Validator)
    return validator_class(schema)


def canary_form(baked: Path, copy_to: Path, percent: int) -> dict[str, Any]:
    """The InferenceService after `make k8s STRATEGY=canary PERCENT=percent`, by the bake's own code.

    It edits a copy of the bake's k8s/, with the bake's package on the path.
    """
    project = copy_to / "project"
    shutil.copytree(baked / "k8s", project / "k8s")
    code = (
        "import sys; from pathlib import Path\n"
        "from tumor_classifier.deploy.k8s import apply_rollout, rollout\n"
        "apply_rollout(Path(sys.argv[1]), rollout('tumor-classifier:3', 'canary', int(sys.argv[2]), None))"
    )
    written = subprocess.run(
        [sys.executable, "-c", code, str(project), str(percent)],
        env={**os.environ, "PYTHONPATH": str(baked / "src")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert written.returncode == 0, written.stderr
    return dict(yaml.safe_load((project / INFERENCE_SERVICE).read_text()))


def first_container(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The first container of the rendered manifest of this kind."""
    (found,) = [document for document in documents if document["kind"] == kind]
    return dict(found["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize("task", TASKS)
def test_the_base_runs_the_image_as_its_user_read_only(baked: dict[str, Path], task: str) -> None:
    """One of each kind; the Deployment runs the Dockerfile's user and port, writes only to emptyDirs."""
    project = baked[task]
    documents = kustomize(project)
    dockerfile = (project / "Dockerfile").read_text()

    assert {document["kind"] for document in documents} == KINDS
    (deployment,) = [document for document in documents if document["kind"] == "Deployment"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    container = first_container(documents, "Deployment")
    assert container["image"] == "tumor-classifier:set-by-make-k8s", "kustomization.yaml's images:"
    uid = re.search(r"useradd --uid (\d+)", dockerfile)
    assert uid is not None
    pod = deployment["spec"]["template"]["spec"]["securityContext"]
    assert pod["runAsUser"] == container["securityContext"]["runAsUser"] == int(uid[1])
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert f"EXPOSE {container['ports'][0]['containerPort']}" in dockerfile
    metrics = re.search(r"PROMETHEUS_MULTIPROC_DIR=(\S+)", dockerfile)
    assert metrics is not None
    mounted = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert {metrics[1], "/app/logs", "/tmp"} <= mounted
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"


@pytest.mark.parametrize("release", KUBERNETES_RELEASES)
@pytest.mark.parametrize("task", TASKS)
def test_every_manifest_validates_strictly(baked: dict[str, Path], task: str, release: str) -> None:
    """Each rendered manifest is valid for the release, with no field the release does not know."""
    for document in kustomize(baked[task]):
        try:
            kubernetes_validate.validate(document, release, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{document['kind']} is invalid for Kubernetes {release}: {error.message}")


@pytest.mark.parametrize("task", TASKS)
def test_the_inference_service_validates_plain_and_canary(
    baked: dict[str, Path],
    task: str,
    kserve_validator: jsonschema.protocols.Validator,
    tmp_path: Path,
) -> None:
    """The shipped InferenceService and its canary form are valid v1beta1, unknown fields refused."""
    plain = yaml.safe_load((baked[task] / INFERENCE_SERVICE).read_text())
    canary = canary_form(baked[task], tmp_path, 10)

    for form in (plain, canary):
        errors = [error.message for error in kserve_validator.iter_errors(form)]
        assert not errors, errors
    assert "canaryTrafficPercent" not in plain["spec"]["predictor"]
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 10
    container = canary["spec"]["predictor"]["containers"][0]
    assert container["image"] == "tumor-classifier:3"
    assert {"name": "PROTOCOL", "value": "v2"} in container["env"]


def test_the_checks_refuse_an_unknown_field(
    baked: dict[str, Path], kserve_validator: jsonschema.protocols.Validator
) -> None:
    """A misspelt field fails both checks: they are strict, not only well-formed."""
    project = baked[TASKS[0]]
    deployment = next(doc for doc in kustomize(project) if doc["kind"] == "Deployment")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(misspelt, KUBERNETES_RELEASES[-1], strict=True)

    service = yaml.safe_load((project / INFERENCE_SERVICE).read_text())
    service["spec"]["predictor"]["canaryTraficPercent"] = 10
    assert any(
        "canaryTraficPercent" in error.message for error in kserve_validator.iter_errors(service)
    )
