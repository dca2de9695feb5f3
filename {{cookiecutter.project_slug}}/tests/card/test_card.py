"""The model card: built from a trained project's store, read back with huggingface_hub's own loader."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from mlflow.models import get_model_info
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.card import CardError
from {{ cookiecutter.package_name }}.card.render import NOTES_FILE
from {{ cookiecutter.package_name }}.card.write import CARD_ARTIFACT, CARD_FOLDER, CARD_TAG, write_card
from {{ cookiecutter.package_name }}.pipeline.params import load_params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.registry import MissingRunError

PROJECT = Path(__file__).parents[2]


@pytest.fixture
def carded(trained_project: Settings) -> Iterator[Settings]:
    """The trained project with params.yaml and the notes as a bake ships them; its card removed afterwards."""
    root = trained_project.project_root
    for name in (NOTES_FILE, "params.yaml"):
        shutil.copy(PROJECT / name, root / name)
    yield trained_project
    shutil.rmtree(root / CARD_FOLDER, ignore_errors=True)
    for name in (NOTES_FILE, "params.yaml"):
        (root / name).unlink()


def test_the_card_metadata_holds_the_runs_metrics(carded: Settings) -> None:
    """Parsed by huggingface_hub, the model-index has the task, the dataset and the run's test metrics."""
    path = write_card(carded, "1")
    card = ModelCard.load(path)
    client = MlflowClient(carded.resolved_tracking_uri)
    version = client.get_model_version(carded.model_name, "1")
    logged = client.get_run(str(version.run_id)).data.metrics
    results = card.data.eval_results
    assert {r.metric_type: r.metric_value for r in results} == {
        name.removeprefix("test_"): value
        for name, value in logged.items()
        if name.startswith("test_")
    }
    assert {(r.task_type, r.dataset_name, r.dataset_split) for r in results} == {
        ("tabular-{{ cookiecutter.task }}", "sklearn:{{ "breast_cancer" if cookiecutter.task == "classification" else "diabetes" }}", "test")
    }
    assert (card.data.license, card.data.library_name) == ("mit", "sklearn")


def test_the_card_is_beside_the_run_and_named_on_the_version(carded: Settings) -> None:
    """The same text is logged as an artifact of the version's run, and a version tag says where."""
    path = write_card(carded, "1")
    client = MlflowClient(carded.resolved_tracking_uri)
    version = client.get_model_version(carded.model_name, "1")
    assert version.tags[CARD_TAG] == CARD_ARTIFACT
    logged = Path(client.download_artifacts(str(version.run_id), CARD_ARTIFACT))
    assert logged.read_text() == path.read_text()


def test_the_card_carries_the_teams_sections_and_the_lineage(carded: Settings) -> None:
    """What the team wrote in model-card.md comes back in every card, beside the data and the gate."""
    notes = carded.project_root / NOTES_FILE
    notes.write_text(
        "## Intended use\n\nScreening support, reviewed by a radiologist.\n\n"
        "## Limitations\n\nNever seen images from children.\n"
    )
    text = write_card(carded, "1").read_text()
    assert "Screening support, reviewed by a radiologist." in text
    assert "Never seen images from children." in text
    assert "## Data" in text, "the data section (its rows: the slow test, after dvc repro)"
    info = get_model_info(f"models:/{carded.model_name}/1")
    for column in info.signature.inputs.input_names():
        assert f"| {column} | " in text, f"the signature's {column} and its contract"
    for metric in load_params(carded.project_root / "params.yaml").gate.limits:
        assert f"| {metric} | " in text, f"the gate's {metric} row"


def test_a_missing_section_or_version_is_one_line_and_writes_nothing(carded: Settings) -> None:
    """A notes file without Limitations, or a version the registry lacks: one line, no card written."""
    (carded.project_root / NOTES_FILE).write_text("## Intended use\n\nScreening.\n")
    with pytest.raises(CardError, match=r"model-card.md: add a '## Limitations' section"):
        write_card(carded, "1")
    with pytest.raises(MissingRunError, match="has no version 99"):
        write_card(carded, "99")
    assert not (carded.project_root / CARD_FOLDER).exists()
