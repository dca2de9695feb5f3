"""The quality gate: a candidate's test metrics against absolute limits and the champion."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

from ..model.load import load_registered
from ..model.loaded import InputError
from ..pipeline.metrics import HIGHER_IS_BETTER, score_test_split
from ..pipeline.params import GateParams, Params
from ..pipeline.prepare import read_splits
from ..tracking.registry import Registry


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
    """Judge a candidate: absolute limits from params, and no worse than the champion beyond tolerance.

    A metric that is not a number fails; so does a gate that judged nothing (see `promote`).
    """
    verdicts = []
    for metric in sorted({*params.limits, *(champion or {})} & set(candidate)):
        value = candidate[metric]
        bounds = params.limits.get(metric)
        threshold = "" if bounds is None else _describe(bounds.min, bounds.max)
        broken = (
            "not a number" if math.isnan(value) else bounds.violation(value) if bounds else None
        )
        reference = champion.get(metric) if champion else None
        worse = False
        if reference is not None and broken is None:
            delta = value - reference if HIGHER_IS_BETTER.get(metric, True) else reference - value
            worse = delta < -params.tolerance
        reason = broken or (
            f"worse than champion by more than {params.tolerance:g}" if worse else "ok"
        )
        verdicts.append(
            Verdict(metric, value, reference, threshold, broken is None and not worse, reason)
        )
    return verdicts


def _describe(low: float | None, high: float | None) -> str:
    parts = [f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else ""]
    return " ".join(part for part in parts if part)


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


@dataclass(frozen=True)
class QualityGate:
    """The gate of one deploy: registered versions scored on the held-out test split, by the pipeline's scorer."""

    registry: Registry
    params: Params
    data_dir: Path

    def judge(self, candidate: str, champion: str | None) -> list[Verdict]:
        """The candidate's verdicts, against the champion's scores when it can score the same split.

        Raises InputError when the candidate cannot score the split (it was trained on other data).
        """
        test = read_splits(self.data_dir).test
        model = load_registered(self.registry, alias=None, version=candidate)
        scores = score_test_split(model, test, self.params)
        reference = None
        if champion and champion != candidate:
            try:
                served = load_registered(self.registry, alias=None, version=champion)
                reference = score_test_split(served, test, self.params)
            except InputError as error:  # the data changed (your own dataset): nothing to compare
                logger.warning(
                    "champion version {} cannot score the current test split ({}): the candidate is "
                    "judged on the absolute limits only",
                    champion,
                    error,
                )
        return gate(scores, reference, self.params.gate)
