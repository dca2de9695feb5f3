"""Promote a registered model: the quality gate, the `champion`/`previous` aliases, and rollback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from loguru import logger

from {{ cookiecutter.package_name }}.inference import CHAMPION, PREVIOUS
from {{ cookiecutter.package_name }}.pipeline.metrics import HIGHER_IS_BETTER
from {{ cookiecutter.package_name }}.pipeline.params import GateParams, Params
from {{ cookiecutter.package_name }}.settings import Settings


class PromotionError(RuntimeError):
    """The candidate cannot be promoted, or there is nothing to roll back to."""


@dataclass(frozen=True)
class Verdict:
    """One row of the gate: a metric of the candidate against its threshold and the champion."""

    metric: str
    candidate: float
    champion: float | None
    threshold: str
    passed: bool
    reason: str


def gate(
    candidate: Mapping[str, float], champion: Mapping[str, float] | None, params: GateParams
) -> list[Verdict]:
    """Judge a candidate: absolute limits from params, and no worse than the champion beyond tolerance."""
    verdicts = []
    for metric in sorted({*params.limits, *(champion or {})} & set(candidate)):
        value = candidate[metric]
        bounds = params.limits.get(metric)
        broken = bounds.violation(value) if bounds else None
        reference = champion.get(metric) if champion else None
        worse = False
        if reference is not None:
            delta = value - reference if HIGHER_IS_BETTER.get(metric, True) else reference - value
            worse = delta < -params.tolerance
        threshold = "" if bounds is None else _describe(bounds.min, bounds.max)
        reason = broken or (
            f"worse than champion by more than {params.tolerance:g}" if worse else "ok"
        )
        verdicts.append(
            Verdict(metric, value, reference, threshold, broken is None and not worse, reason)
        )
    return verdicts


def _describe(low: float | None, high: float | None) -> str:
    return " ".join(
        part
        for part in (
            f">= {low:g}" if low is not None else "",
            f"<= {high:g}" if high is not None else "",
        )
        if part
    )


def format_table(verdicts: list[Verdict]) -> str:
    """The gate as a small text table."""
    rows = [("metric", "candidate", "champion", "threshold", "verdict")]
    for v in verdicts:
        champion = "-" if v.champion is None else f"{v.champion:.4f}"
        verdict = "pass" if v.passed else f"FAIL: {v.reason}"
        rows.append((v.metric, f"{v.candidate:.4f}", champion, v.threshold or "-", verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True))
        + "  "
        + row[4]
        for row in rows
    )


def score_version(settings: Settings, params: Params, version: str) -> dict[str, float]:
    """A registered version's metrics on the held-out test split."""
    from {{ cookiecutter.package_name }}.inference import load_model
    from {{ cookiecutter.package_name }}.pipeline.metrics import model_metrics
    from {{ cookiecutter.package_name }}.pipeline.prepare import read_splits
    from {{ cookiecutter.package_name }}.pipeline.train import features_and_target

    test = read_splits(settings.data_dir).test
    features, target = features_and_target(test, params.data.target)
    model = load_model(settings, alias=None, version=version)
    return model_metrics(model.native, model.prepare(features), target, params.task)


def promote(settings: Settings, params: Params) -> tuple[str, list[Verdict]]:
    """Gate the newest version; on a pass make it `champion` and keep the former one as `previous`."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.resolved_tracking_uri)
    versions = client.search_model_versions(f"name='{settings.model_name}'")
    if not versions:
        raise PromotionError(
            f"no registered version of {settings.model_name}: run `make train` first"
        )
    candidate = str(max(int(v.version) for v in versions))
    try:
        champion: str | None = str(
            client.get_model_version_by_alias(settings.model_name, CHAMPION).version
        )
    except MlflowException:
        champion = None
    candidate_scores = score_version(settings, params, candidate)
    champion_scores = (
        score_version(settings, params, champion) if champion and champion != candidate else None
    )
    verdicts = gate(candidate_scores, champion_scores, params.gate)
    if not all(v.passed for v in verdicts):
        raise PromotionError(
            f"version {candidate} failed the quality gate:\n{format_table(verdicts)}"
        )
    if champion != candidate:
        if champion is not None:
            client.set_registered_model_alias(settings.model_name, PREVIOUS, champion)
        client.set_registered_model_alias(settings.model_name, CHAMPION, candidate)
    logger.info("{} version {} is {}", settings.model_name, candidate, CHAMPION)
    return candidate, verdicts


def rollback(settings: Settings) -> str:
    """Point `champion` back at `previous`; return the version now served."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(settings.resolved_tracking_uri)
    try:
        previous = str(client.get_model_version_by_alias(settings.model_name, PREVIOUS).version)
    except MlflowException:
        raise PromotionError(
            f"{settings.model_name} has no '{PREVIOUS}' version to roll back to"
        ) from None
    current = str(client.get_model_version_by_alias(settings.model_name, CHAMPION).version)
    client.set_registered_model_alias(settings.model_name, CHAMPION, previous)
    client.delete_registered_model_alias(settings.model_name, PREVIOUS)
    client.set_model_version_tag(settings.model_name, current, "rolled_back", "true")
    logger.warning("rolled back {}: {} -> {}", settings.model_name, current, previous)
    return previous
