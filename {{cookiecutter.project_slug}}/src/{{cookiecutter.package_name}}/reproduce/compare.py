"""The verdict: what the rebuild must match (data, params, test metrics, predictions), as pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..pipeline.params import ReproduceParams

REPRODUCED = "reproduced"
DIFFERS = "differs"


@dataclass(frozen=True)
class Check:
    """One line of the verdict table: what was recorded, what the rebuild gave, and whether it holds."""

    name: str
    recorded: str
    rebuilt: str
    holds: bool


@dataclass(frozen=True)
class Verdict:
    """Every check of one version's rebuild."""

    version: str
    commit: str
    checks: tuple[Check, ...]

    @property
    def differences(self) -> list[str]:
        """The names of the checks that do not hold."""
        return [check.name for check in self.checks if not check.holds]

    @property
    def reproduced(self) -> bool:
        """True when every check holds."""
        return not self.differences

    def outcome(self) -> str:
        """`reproduced`, or `differs: <what>`: the version's tag and the command's last line."""
        return REPRODUCED if self.reproduced else f"{DIFFERS}: {', '.join(self.differences)}"

    def table(self) -> str:
        """The checks as a Markdown table (printed, and logged beside the version's run)."""
        lines = [
            f"version {self.version} rebuilt from commit {self.commit[:12]}: {self.outcome()}",
            "",
            "| check | recorded | rebuilt | holds |",
            "|---|---|---|---|",
        ]
        for check in self.checks:
            mark = "yes" if check.holds else "NO"
            lines.append(f"| {check.name} | {check.recorded} | {check.rebuilt} | {mark} |")
        return "\n".join(lines) + "\n"


def data_checks(recorded: Mapping[str, str], rebuilt: Mapping[str, str]) -> list[Check]:
    """Each input the rebuilt train stage consumed must have the md5 the version's run recorded."""
    return [
        Check(f"data {path}", recorded.get(path, "not recorded"), md5, recorded.get(path) == md5)
        for path, md5 in sorted(rebuilt.items())
    ]


def params_check(recorded: str, rebuilt: str) -> Check:
    """The commit's params.yaml must be the one the run hashed."""
    return Check(
        "params.yaml sha256", recorded[:12] or "not recorded", rebuilt[:12], recorded == rebuilt
    )


def metric_checks(
    recorded: Mapping[str, float], rebuilt: Mapping[str, float], tolerance: float
) -> list[Check]:
    """Each test metric within `tolerance` of the recorded one (a metric on one side only differs)."""
    checks = []
    for name in sorted(set(recorded) | set(rebuilt)):
        before, after = recorded.get(name), rebuilt.get(name)
        # A comparison with NaN is false: a NaN metric never holds.
        holds = before is not None and after is not None and abs(before - after) <= tolerance
        checks.append(Check(f"test_{name}", _number(before), _number(after), holds))
    return checks


def prediction_check(
    task: str, registered: np.ndarray, rebuilt: np.ndarray, policy: ReproduceParams
) -> Check:
    """The two models' test predictions: the share of equal classes, or the largest value difference."""
    if registered.shape != rebuilt.shape:
        return Check("predictions", f"{len(registered)} rows", f"{len(rebuilt)} rows", False)
    if task == "classification":
        agreement = float(np.mean(registered == rebuilt)) if len(registered) else 1.0
        return Check(
            "predictions (class agreement)",
            f">= {policy.min_agreement:g}",
            f"{agreement:.4f}",
            agreement >= policy.min_agreement,
        )
    largest = float(np.max(np.abs(registered - rebuilt))) if len(registered) else 0.0
    return Check(
        "predictions (max abs difference)",
        f"<= {policy.prediction_tolerance:g}",
        f"{largest:.3g}",
        largest <= policy.prediction_tolerance,
    )


def _number(value: float | None) -> str:
    return "missing" if value is None else f"{value:.6g}"
