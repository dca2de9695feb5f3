"""Write a version's card: to reports/model-card/, beside the version's run, and named by a version tag."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

from ..deploy.gate import gate
from ..files import write_atomically
from ..names import DISTRIBUTION
from ..pipeline.params import load_params
from ..settings import Settings
from ..tracking.registry import Registry
from .facts import read_facts
from .render import NOTES_FILE, model_card, team_notes

CARD_FOLDER = Path("reports") / "model-card"
CARD_ARTIFACT = (
    "model-card/README.md"  # beside the version's run: the registry's model page links it
)
CARD_TAG = "model_card"


def write_card(settings: Settings, version: str, path: Path | None = None) -> Path:
    """Build version `version`'s card from the store and the team's notes; return where it was written.

    It goes to `path` (else reports/model-card/README.md) and beside the version's run, named by a tag.
    """
    registry = Registry.open(settings)
    facts = read_facts(registry, version)
    notes = team_notes(settings.project_root / NOTES_FILE)  # before anything is written
    verdicts = gate(facts.metrics, None, load_params(settings.params_file).gate)
    license_id = str(metadata(DISTRIBUTION).json.get("license_expression") or "other")
    text = str(model_card(facts, verdicts, notes, license_id))
    path = path or settings.project_root / CARD_FOLDER / "README.md"
    write_atomically(path, text)
    registry.client.log_text(facts.run_id, text, CARD_ARTIFACT)
    registry.tag_version(version, {CARD_TAG: CARD_ARTIFACT})
    return path
