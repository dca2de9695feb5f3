"""The drift check's verdict: every column's numbers, what drifted, and the lines the terminal shows.

Its own module because both the check (which judges) and the reports (which show the verdict) need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..pipeline.params import MonitorParams
from .requests import describe_other_columns
from .stats import ColumnDrift


@dataclass(frozen=True)
class DriftSummary:
    """The check's verdict, its numbers, and where its reports are."""

    report: Path
    summary: Path
    rows: int
    version: str | None
    versions: dict[str, int] = field(hash=False)  # rows judged per model version
    features: tuple[ColumnDrift, ...]
    prediction: ColumnDrift
    limits: MonitorParams
    # Rows left out per model version: their columns are not the training data's.
    not_judged: dict[str, int] = field(default_factory=dict, hash=False)

    @property
    def columns(self) -> list[ColumnDrift]:
        """The prediction, then the features, most drifted first."""
        return [self.prediction, *sorted(self.features, key=lambda column: -column.psi)]

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        """The columns whose PSI is above the limit."""
        return [column for column in self.columns if column.drifted]

    @property
    def drifted(self) -> bool:
        """The verdict: more drifted columns than `monitor.max_drifted` allows."""
        return len(self.drifted_columns) > self.limits.max_drifted

    def headline(self) -> str:
        """The verdict in one line, with the columns behind it."""
        limit, allowed = self.limits.psi_limit, self.limits.max_drifted
        drifted = self.drifted_columns
        shown = ", ".join(f"{column.name} {column.psi:.2f}" for column in drifted[:5])
        more = f" and {len(drifted) - 5} more" if len(drifted) > 5 else ""
        of = f"{len(drifted)} of {len(self.columns)} columns"
        if self.drifted:
            return f"Drift: {of} have a PSI above {limit:g} (at most {allowed} may): {shown}{more}"
        if drifted:
            return (
                f"No drift: {of} have a PSI above {limit:g}, within the {allowed} allowed: {shown}"
            )
        top = max(self.columns, key=lambda column: column.psi)
        return f"No drift: no column has a PSI above {limit:g} (largest: {top.name} {top.psi:.2f})"

    def versions_text(self) -> str:
        """Which model versions answered the rows judged ("model version 3", "model versions 2, 3")."""
        if self.version is not None:
            return f"model version {self.version}"
        names = list(self.versions)
        return f"model version{'s' if len(names) > 1 else ''} {', '.join(names)}"

    def not_judged_text(self) -> str:
        """The rows left out, how many of which versions and why; empty when every row was judged."""
        if not self.not_judged:
            return ""
        return describe_other_columns(self.not_judged, len(self.features))

    def describe(self) -> str:
        """A few lines for the terminal: the verdict, what was checked, where the report is."""
        return "\n".join(
            [
                self.headline(),
                f"Checked {self.rows:,} logged rows ({self.versions_text()}) against the training split.",
                f"Report: {_shown(self.report)} (numbers: {_shown(self.summary)})",
            ]
        )


def _shown(path: Path) -> str:
    """A path as the terminal shows it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
