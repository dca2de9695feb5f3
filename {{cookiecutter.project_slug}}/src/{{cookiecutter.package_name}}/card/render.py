"""The card itself: Hugging Face's model card format (YAML metadata, then Markdown), through huggingface_hub.

The metadata holds what the Hub and other tools read: the model-index with the task, the dataset and the test
metrics, the license, the library and tags. The Markdown holds the rest of the facts, then the sections the
team writes once in `model-card.md` (intended use, limitations), which every regenerated card carries over.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..deploy.gate import Verdict
from . import CardError
from .facts import Facts

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

NOTES_FILE = "model-card.md"  # the team's own sections, committed
NOTES_SECTIONS = ("Intended use", "Limitations")
LICENSES = {"LicenseRef-Proprietary": "other"}  # the Hub's identifiers are SPDX's, in lower case


def team_notes(path: Path) -> dict[str, str]:
    """The `## Heading` sections of the team's notes, by heading; CardError when one is missing."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CardError(f"{path}: cannot read the model card's notes ({error.strerror})") from None
    parts = re.split(r"^## +(.+?)\s*$", text, flags=re.MULTILINE)
    sections = {
        heading: body.strip() for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }
    missing = [name for name in NOTES_SECTIONS if name not in sections]
    if missing:
        raise CardError(f"{path}: add a '## {missing[0]}' section (the card carries it over)")
    return sections


def model_card(
    facts: Facts, verdicts: list[Verdict], notes: dict[str, str], license_id: str
) -> ModelCard:
    """The version's card: metadata the Hub's tools read, then the facts and the team's sections."""
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    task = f"tabular-{facts.task}"
    dataset = facts.params.get("data.source", "unrecorded")
    metadata = ModelCardData(
        model_name=f"{facts.model} v{facts.version}",
        license=LICENSES.get(license_id, license_id.lower()),
        library_name="sklearn",
        pipeline_tag=task,
        tags=["sklearn", "mlflow", "dvc", task],
        datasets=[dataset],
        eval_results=[
            EvalResult(
                task_type=task,
                dataset_type=dataset,
                dataset_name=dataset,
                dataset_split="test",
                metric_type=name,
                metric_value=value,
            )
            for name, value in sorted(facts.metrics.items())
        ],
    )
    body = "\n\n".join(
        [
            f"# {facts.model}, version {facts.version}",
            *_sections(facts, verdicts),
            *(f"## {name}\n\n{notes[name]}" for name in NOTES_SECTIONS),
        ]
    )
    return ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{body}\n")


def _sections(facts: Facts, verdicts: list[Verdict]) -> Iterable[str]:
    commit = facts.commit or "not recorded (trained outside a git commit)"
    dirty = {True: ", with uncommitted changes", False: "", None: ""}[facts.dirty]
    yield (
        "## Model\n\n"
        f"- Registered as `{facts.model}` version {facts.version}, from MLflow run `{facts.run_id}`\n"
        f"- Trained {facts.trained:%Y-%m-%d %H:%M} UTC at commit `{commit}`{dirty}\n"
        f"- Task: {facts.task}; serving aliases now: {', '.join(facts.aliases) or 'none'}\n"
        f"- Champions so far, oldest first: {', '.join(facts.history) or 'none'}\n"
        f"- Last `make reproduce`: {facts.reproduced or 'never run'}"
    )
    rows = [
        (d.context, d.source, d.digest, "" if d.rows is None else str(d.rows))
        for d in facts.datasets
    ]
    rows += [("(DVC)", path, md5, "") for path, md5 in sorted(facts.data.items())]
    yield "## Data\n\n" + _table(("split", "source", "hash", "rows"), rows)
    contract = [(name, kind, _rules(facts.contract.get(name, {}))) for name, kind in facts.inputs]
    yield "## Inputs and their contract\n\n" + _table(("column", "type", "accepted"), contract)
    if facts.example is not None:
        yield f"## Input example\n\n```json\n{json.dumps(facts.example)}\n```"
    yield "## Parameters\n\n" + _table(("param", "value"), sorted(facts.params.items()))
    yield "## Test metrics\n\n" + _table(
        ("metric", "value"), [(k, f"{v:.4f}") for k, v in sorted(facts.metrics.items())]
    )
    gate = [
        (v.metric, f"{v.candidate:.4f}", v.threshold or "-", "pass" if v.passed else v.reason)
        for v in verdicts
    ]
    yield "## Quality gate (params.yaml's limits)\n\n" + _table(
        ("metric", "value", "limit", "verdict"), gate
    )


def _rules(rules: dict[str, object]) -> str:
    if "categories" in rules:
        return "one of " + ", ".join(str(c) for c in rules["categories"])  # type: ignore[attr-defined]
    low, high = rules.get("min"), rules.get("max")
    if low is None and high is None:
        return "any"
    return f"{'' if low is None else low} to {'' if high is None else high}".strip()


def _table(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    lines = [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"]
    lines += [f"| {' | '.join(cell.replace('|', '/') for cell in row)} |" for row in rows]
    return "\n".join(lines)
