"""The drift check's reports: drift.json for scripts, and drift.html with a table and a figure per column.

The page is self-contained (its figures are inline PNGs), so it can be attached or archived as one file.
"""

from __future__ import annotations

import base64
import html
import io
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..files import write_atomically, write_json_atomically
from ..names import PROJECT_NAME
from .requests import OTHER_COLUMNS_REASON, PREDICTION, RequestLog, logged_column, window
from .stats import ColumnDrift, bin_categorical, numbers
from .verdict import DriftSummary

if TYPE_CHECKING:  # matplotlib loads only when the report is drawn
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #212529; }
.verdict { padding: 0.8rem 1rem; border-radius: 6px; font-weight: 600; }
.drift { background: #f8d7da; color: #842029; }
.ok { background: #d1e7dd; color: #0f5132; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #dee2e6; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.verdict-cell { font-weight: 600; text-align: center; }
.figures { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.note { color: #6c757d; max-width: 60rem; }
a { color: inherit; }
"""


def write_reports(
    summary: DriftSummary, log: RequestLog, reference: pd.DataFrame, target: str
) -> None:
    """Write drift.json and drift.html where the summary says they are, each whole or not at all."""
    write_json_atomically(summary.summary, summary_json(summary, log))
    write_atomically(summary.report, report_html(summary, log, reference, target))


def summary_json(summary: DriftSummary, log: RequestLog) -> dict[str, Any]:
    """The machine-readable summary: the verdict, what was read, and every column's numbers."""
    logged = window(log)
    first, last = (logged[0].isoformat(), logged[1].isoformat()) if logged else (None, None)
    return {
        "verdict": "drift" if summary.drifted else "ok",
        "drifted": len(summary.drifted_columns),
        "psi_limit": summary.limits.psi_limit,
        "max_drifted": summary.limits.max_drifted,
        "rows": summary.rows,
        "skipped_lines": log.skipped,
        "version": summary.version,
        "versions": summary.versions,
        "not_judged": not_judged_json(summary),
        "first": first,
        "last": last,
        "features": {column.name: column.as_json() for column in summary.features},
        "prediction": summary.prediction.as_json(),
    }


def not_judged_json(summary: DriftSummary) -> dict[str, Any]:
    """The logged rows left out: how many, per model version, and why (null when none was)."""
    rows = sum(summary.not_judged.values())
    reason = (
        f"their columns are not the {len(summary.features)} feature columns of the training data: "
        f"{OTHER_COLUMNS_REASON}"
    )
    return {"rows": rows, "versions": summary.not_judged, "reason": reason if rows else None}


def draw_column(column: ColumnDrift, reference: pd.Series, logged: pd.Series) -> Figure:
    """Training and logged distributions of one column, overlaid.

    A bare Figure, not pyplot: no global figure state to close, no GUI backend to pick.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.4, 2.8))
    axes = figure.subplots()
    if column.kind == "numeric":
        _draw_numbers(axes, numbers(reference), numbers(logged))
        bottom = 0.12
    else:
        _draw_categories(axes, reference, logged)
        bottom = 0.24  # room for the slanted category names
    axes.set_title(
        f"{column.name}: PSI {column.psi:.3f}",
        color="#b02a37" if column.drifted else "black",
        fontsize="medium",
    )
    axes.tick_params(labelsize="small")
    axes.legend(fontsize="small")
    # Fixed margins, not tight_layout: measuring every label of every figure doubles the report's time.
    figure.subplots_adjust(left=0.14, right=0.97, top=0.89, bottom=bottom)
    return figure


def _draw_numbers(axes: Axes, expected: np.ndarray, actual: np.ndarray) -> None:
    """Both samples' densities as overlaid histograms on shared bins."""
    both = np.concatenate([expected, actual])
    if both.size:
        # An outlier would squeeze the rest into one bar: the outer bins hold the last half percent.
        low, high = np.quantile(both, [0.005, 0.995])
        edges = np.histogram_bin_edges(both, bins=30, range=(low, high) if high > low else None)
        for values, label in ((expected, "training"), (actual, "logged")):
            if values.size:
                clipped = np.clip(values, edges[0], edges[-1])
                axes.hist(
                    clipped,
                    bins=edges.tolist(),
                    density=True,
                    histtype="stepfilled",
                    alpha=0.5,
                    label=label,
                )
    axes.set_yticks([])  # densities: the shapes compare, their scale says nothing
    axes.set_ylabel("density")


def _draw_categories(axes: Axes, reference: pd.Series, logged: pd.Series) -> None:
    """Both samples' shares per category, as bars side by side."""
    binned = bin_categorical(reference, logged)
    places = np.arange(len(binned.labels))
    axes.bar(places - 0.2, binned.reference, width=0.4, label="training", alpha=0.7)
    axes.bar(places + 0.2, binned.logged, width=0.4, label="logged", alpha=0.7)
    axes.set_xticks(places, [label[:12] for label in binned.labels], rotation=30, ha="right")
    axes.set_ylabel("share")


def png_base64(figure: Figure) -> str:
    """The figure as a PNG, base64-encoded for an <img> data URI (drawn by the Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # attaches itself to the figure: savefig draws with Agg
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "&ndash;"
    return f"{value:.{digits}g}"


def _row(column: ColumnDrift, label: str, anchor: str) -> str:
    verdict = "drift" if column.drifted else "ok"
    cells = [
        f'<a href="#{anchor}">{html.escape(label)}</a>',
        column.kind,
        f"<b>{column.psi:.3f}</b>" if column.drifted else f"{column.psi:.3f}",
        _number(column.ks_pvalue, 2),
        _number(column.reference_mean),
        _number(column.logged_mean),
    ]
    body = "".join(f"<td>{cell}</td>" for cell in cells)
    return f'<tr>{body}<td class="verdict-cell {verdict}">{verdict}</td></tr>'


def _rows_and_figures(
    summary: DriftSummary, log: RequestLog, reference: pd.DataFrame, target: str
) -> tuple[list[str], list[str]]:
    """A table row and an inline figure for each column, the prediction first, linked by anchor."""
    rows, figures = [], []
    for number, column in enumerate(summary.columns):
        is_prediction = column is summary.prediction
        label = f"{PREDICTION} (vs training {target})" if is_prediction else column.name
        anchor = f"column-{number}"
        rows.append(_row(column, label, anchor))
        expected = reference[target] if is_prediction else reference[column.name]
        logged = log.predictions if is_prediction else logged_column(log, column.name)
        image = png_base64(draw_column(column, expected, logged))
        alt = html.escape(f"{label}: training and logged distributions", quote=True)
        figures.append(f'<img id="{anchor}" src="data:image/png;base64,{image}" alt="{alt}">')
    return rows, figures


def _what_was_read(summary: DriftSummary, log: RequestLog, reference: pd.DataFrame) -> str:
    """The sentence under the verdict: rows, versions, time window, what was skipped, when written."""
    logged = window(log)
    during = f", {logged[0]:%Y-%m-%d %H:%M} to {logged[1]:%Y-%m-%d %H:%M} UTC" if logged else ""
    lines = f"{log.skipped} line{'s' if log.skipped != 1 else ''}"
    skipped = f" {lines} cut short (a worker stopped mid-write) skipped." if log.skipped else ""
    left_out = summary.not_judged_text()
    not_judged = f" {html.escape(left_out[0].upper() + left_out[1:])}." if left_out else ""
    written = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{summary.rows:,} logged rows ({html.escape(summary.versions_text())}{during}) against the\n"
        f"{len(reference):,} rows of the training split.{skipped}{not_judged} Written {written}."
    )


def report_html(
    summary: DriftSummary, log: RequestLog, reference: pd.DataFrame, target: str
) -> str:
    """The report as one self-contained page: the verdict, a table of every column, their histograms."""
    verdict = "drift" if summary.drifted else "ok"
    rows, figures = _rows_and_figures(summary, log, reference, target)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Drift check: {html.escape(PROJECT_NAME)}</title>
<style>{STYLE}</style>
</head>
<body>
<h1>Drift check: {html.escape(PROJECT_NAME)}</h1>
<p class="verdict {verdict}">{html.escape(summary.headline())}</p>
<p>{_what_was_read(summary, log, reference)}</p>
<p class="note">PSI (population stability index) compares the share of rows in each bin: a number's bins are
the training data's deciles, a text column's its categories. Below 0.1 a column is stable, above 0.25 it has
shifted a lot; here a column drifts above {summary.limits.psi_limit:g} (monitor.psi_limit in params.yaml).
The KS p-value of a numeric column is information only: with many rows it is small even for shifts too small
to matter.</p>
<table>
<tr><th>column</th><th>kind</th><th>PSI</th><th>KS p-value</th><th>training mean</th>
<th>logged mean</th><th>verdict</th></tr>
{chr(10).join(rows)}
</table>
<h2>Distributions</h2>
<div class="figures">
{chr(10).join(figures)}
</div>
</body>
</html>
"""
