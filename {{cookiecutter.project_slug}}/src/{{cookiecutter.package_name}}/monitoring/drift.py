"""Drift check: the rows the model server logged against the training split, column by column, with a verdict.

The server samples the rows it scores into `<log dir>/requests/*.jsonl` (one file per worker, rotated to
`*.jsonl.1`, `*.jsonl.2`, ...). `check` compares each feature's logged values with the training split, and the
logged predictions with the training target, by their population stability index (PSI): numbers counted in
bins at the training data's deciles, text by category. A column drifts when its PSI is above
`monitor.psi_limit`; more drifted columns than `monitor.max_drifted` is drift. A numeric column also shows a
two-sample Kolmogorov-Smirnov p-value, as information only: with thousands of rows it is tiny for shifts too
small to matter, which is why the verdict rests on PSI. The report is `reports/monitor/drift.html` (a table
and a histogram per column) and `drift.json` (the same numbers, for scripts).

PSI is a few lines of numpy and KS one scipy call (scipy comes with scikit-learn); a drift library (evidently,
nannyml) would pull a large dependency tree into the project for these two statistics.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from loguru import logger

from ..errors import ProjectError
from ..names import ENV_PREFIX, PROJECT_NAME
from ..pipeline import PipelineError
from ..pipeline.params import MonitorParams, Params, Task
from ..pipeline.prepare import read_splits
from ..serving.request_log import log_files, log_folder, records
from ..settings import Settings

if TYPE_CHECKING:  # matplotlib loads only when the report is drawn
    from matplotlib.figure import Figure

REPORT_DIR = Path("reports", "monitor")
BINS = 10  # a numeric column's bins: the training data's deciles
CATEGORY_LIMIT = 20  # the most frequent training categories get a bin each; the others share OTHER
EPSILON = 1e-4  # the share an empty bin counts as, so that its log ratio stays finite
OTHER = "(other)"
MISSING = "(missing)"
PREDICTION = "prediction"

Kind = Literal["numeric", "categorical"]


class MonitorError(ProjectError, RuntimeError):
    """The drift check cannot judge yet; the message says what to do first."""


class RequestLog(NamedTuple):
    """The logged rows the check compares (of one model version, or of all)."""

    features: pd.DataFrame  # a row per logged row, a column per feature
    predictions: pd.Series
    times: pd.Series  # UTC timestamps; NaT where a record had none
    versions: dict[str, int]  # rows per model version in the whole log, before any filter
    skipped: int  # lines that are not a whole record (a worker stopped mid-write)


class Binned(NamedTuple):
    """Two samples counted in the same bins, as shares of each."""

    labels: list[str]
    reference: np.ndarray
    logged: np.ndarray


@dataclass(frozen=True)
class ColumnDrift:
    """How one column's logged values compare with the training data."""

    name: str
    kind: Kind
    psi: float
    ks_pvalue: float | None  # numeric columns only; information, not the verdict
    reference_mean: float | None
    logged_mean: float | None
    drifted: bool

    def as_json(self) -> dict[str, Any]:
        """The column's numbers for drift.json."""
        return {
            "kind": self.kind,
            "psi": round(self.psi, 6),
            "ks_pvalue": self.ks_pvalue,
            "drifted": self.drifted,
            "reference_mean": self.reference_mean,
            "logged_mean": self.logged_mean,
        }


@dataclass(frozen=True)
class DriftSummary:
    """The check's verdict, its numbers, and where its reports are."""

    report: Path
    summary: Path
    rows: int
    version: str | None
    versions: dict[str, int] = field(hash=False)
    features: tuple[ColumnDrift, ...]
    prediction: ColumnDrift
    limits: MonitorParams

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

    def describe(self) -> str:
        """A few lines for the terminal: the verdict, what was checked, where the report is."""
        return "\n".join(
            [
                self.headline(),
                f"Checked {self.rows:,} logged rows ({_versions_text(self)}) against the training split.",
                f"Report: {_shown(self.report)} (numbers: {_shown(self.summary)})",
            ]
        )


def read_request_log(folder: Path, version: str | None = None) -> RequestLog:
    """The rows logged in the folder, of one model version or of all; lines cut short are counted, not read."""
    features: list[dict[str, Any]] = []
    predictions: list[Any] = []
    times: list[Any] = []
    versions: Counter[str] = Counter()
    skipped = 0
    for path in log_files(folder):
        for record in records(path):
            if record is None:
                skipped += 1
                continue
            logged_version = str(record.get("version"))
            versions[logged_version] += 1
            if version is not None and logged_version != version:
                continue
            features.append(record["features"])
            predictions.append(record["prediction"])
            times.append(record.get("time"))
    return RequestLog(
        pd.DataFrame.from_records(features) if features else pd.DataFrame(),
        pd.Series(predictions, dtype=object),
        pd.to_datetime(pd.Series(times, dtype=object), utc=True, errors="coerce", format="ISO8601"),
        dict(sorted(versions.items())),
        skipped,
    )


def kind_of(values: pd.Series) -> Kind:
    """Numbers are binned by quantiles; anything else (text, booleans) by category."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    return "numeric" if numeric else "categorical"


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


def _binned(labels: list[str], reference: np.ndarray, logged: np.ndarray) -> Binned:
    # A bin empty on both sides adds nothing to the PSI; dropping it keeps the figures readable.
    used = (reference + logged) > 0
    kept = [label for label, keep in zip(labels, used, strict=True) if keep]
    return Binned(kept, _shares(reference[used]), _shares(logged[used]))


def bin_numeric(reference: pd.Series, logged: pd.Series, bins: int = BINS) -> Binned:
    """Count both samples in bins at the reference's quantiles; the outer bins are open-ended.

    Equal quantiles merge into one edge; values that are not numbers count as missing.
    """
    expected = pd.to_numeric(reference, errors="coerce")
    actual = pd.to_numeric(logged, errors="coerce")
    present = expected.dropna().to_numpy(dtype=float)
    inner = np.linspace(0, 1, bins + 1)[1:-1]
    edges = np.unique(np.quantile(present, inner)) if present.size else np.array([])

    def counts(values: pd.Series) -> np.ndarray:
        indices = np.searchsorted(edges, values.dropna().to_numpy(dtype=float), side="right")
        return np.append(np.bincount(indices, minlength=edges.size + 1), values.isna().sum())

    bounds = [f"{edge:.4g}" for edge in edges]
    labels = [
        f"[{low}, {high})" for low, high in zip(["-inf", *bounds], [*bounds, "inf"], strict=True)
    ]
    return _binned([*labels, MISSING], counts(expected), counts(actual))


def category(value: Any) -> str:
    """A value as a category: 1, 1.0 and "1" are one class."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def bin_categorical(reference: pd.Series, logged: pd.Series, limit: int = CATEGORY_LIMIT) -> Binned:
    """Count both samples by the reference's most frequent categories; the rest, unseen ones too, in OTHER."""
    expected = reference.dropna().map(category)
    top = [str(name) for name in expected.value_counts().index[:limit]]

    def counts(values: pd.Series) -> np.ndarray:
        present = values.dropna().map(category)
        known = present.value_counts().reindex(top, fill_value=0).to_numpy(dtype=float)
        return np.append(known, [len(present) - known.sum(), values.isna().sum()])

    return _binned([*top, OTHER, MISSING], counts(reference), counts(logged))


def bin_values(reference: pd.Series, logged: pd.Series, kind: Kind) -> Binned:
    """Both samples in the bins of their kind."""
    return (
        bin_numeric(reference, logged) if kind == "numeric" else bin_categorical(reference, logged)
    )


def psi(binned: Binned) -> float:
    """Population stability index: sum over bins of (logged - reference) * ln(logged / reference).

    Rules of thumb: below 0.1 the distribution is stable, above 0.25 it has shifted a lot.
    """
    expected = np.maximum(binned.reference, EPSILON)
    actual = np.maximum(binned.logged, EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_pvalue(reference: pd.Series, logged: pd.Series) -> float | None:
    """The two-sample Kolmogorov-Smirnov p-value of the numbers in both samples (None if one has none)."""
    from scipy import stats  # type: ignore[import-untyped]  # scipy ships no type information

    expected = pd.to_numeric(reference, errors="coerce").dropna().to_numpy(dtype=float)
    actual = pd.to_numeric(logged, errors="coerce").dropna().to_numpy(dtype=float)
    if not expected.size or not actual.size:
        return None
    return float(stats.ks_2samp(expected, actual).pvalue)


def _mean(values: pd.Series) -> float | None:
    mean = pd.to_numeric(values, errors="coerce").mean()
    return None if pd.isna(mean) else float(mean)


def compare_column(
    name: str, reference: pd.Series, logged: pd.Series, limit: float, kind: Kind | None = None
) -> ColumnDrift:
    """One column's drift: PSI against the limit, and for numbers the KS p-value and both means."""
    kind = kind or kind_of(reference)
    value = psi(bin_values(reference, logged, kind))
    numeric = kind == "numeric"
    return ColumnDrift(
        name=name,
        kind=kind,
        psi=value,
        ks_pvalue=ks_pvalue(reference, logged) if numeric else None,
        reference_mean=_mean(reference) if numeric else None,
        logged_mean=_mean(logged) if numeric else None,
        drifted=value > limit,
    )


def logged_column(log: RequestLog, name: str) -> pd.Series:
    """A feature's logged values; all missing if the log never has it."""
    if name in log.features.columns:
        return log.features[name]
    return pd.Series([None] * len(log.predictions), dtype=object)


def prediction_kind(task: Task) -> Kind:
    """Classes are categories; a regression's predictions are numbers."""
    return "categorical" if task == "classification" else "numeric"


def compare(
    reference: pd.DataFrame, log: RequestLog, target: str, task: Task, limit: float
) -> tuple[list[ColumnDrift], ColumnDrift]:
    """Each feature's drift, and the predictions' against the training target."""
    features = [
        compare_column(str(name), reference[name], logged_column(log, str(name)), limit)
        for name in reference.columns
        if name != target
    ]
    prediction = compare_column(
        PREDICTION, reference[target], log.predictions, limit, prediction_kind(task)
    )
    return features, prediction


def check(settings: Settings, params: Params, version: str | None = None) -> DriftSummary:
    """Compare the logged rows (of one model version, or all) with the training split; write the reports.

    Raises MonitorError when there is nothing to judge yet: no request log, fewer rows than
    `monitor.min_rows`, or no prepared training data.
    """
    folder = log_folder(settings.log_dir)
    sampling = f"{ENV_PREFIX}SERVE_REQUEST_LOG_RATE"
    if not log_files(folder):
        raise MonitorError(
            f"no request log in {folder}: start the server with `make deploy`; "
            f"the server samples requests at {sampling}"
        )
    log = read_request_log(folder, version)
    if log.skipped:
        logger.warning("skipped {} request log lines that were cut short", log.skipped)
    rows = len(log.predictions)
    if rows < params.monitor.min_rows:
        of = f" of model version {version}" if version is not None else ""
        logged = ", ".join(f"{name}: {count}" for name, count in log.versions.items()) or "none"
        raise MonitorError(
            f"{rows} logged rows{of} in {folder} (rows per version: {logged}), fewer than "
            f"monitor.min_rows = {params.monitor.min_rows}: let the server log more requests "
            f"(it samples them at {sampling}) or lower monitor.min_rows in params.yaml"
        )
    try:
        reference = read_splits(settings.data_dir).train
    except PipelineError as error:
        raise MonitorError(f"no training data to compare with: {error}") from None
    target = params.data.target
    if target not in reference.columns:
        raise MonitorError(
            f"the training split has no column {target!r} (data.target in params.yaml): "
            "prepare the data again (make data)"
        )
    features, prediction = compare(reference, log, target, params.task, params.monitor.psi_limit)
    out = settings.project_root / REPORT_DIR
    summary = DriftSummary(
        report=out / "drift.html",
        summary=out / "drift.json",
        rows=rows,
        version=version,
        versions=log.versions,
        features=tuple(features),
        prediction=prediction,
        limits=params.monitor,
    )
    out.mkdir(parents=True, exist_ok=True)
    summary.summary.write_text(
        json.dumps(summary_json(summary, log), indent=2) + "\n", encoding="utf-8"
    )
    summary.report.write_text(report_html(summary, log, reference, target), encoding="utf-8")
    logger.info("{}", summary.headline())
    return summary


def _window(log: RequestLog) -> tuple[str | None, str | None]:
    times = log.times.dropna()
    if times.empty:
        return None, None
    return times.min().isoformat(), times.max().isoformat()


def summary_json(summary: DriftSummary, log: RequestLog) -> dict[str, Any]:
    """The machine-readable summary: the verdict, what was read, and every column's numbers."""
    first, last = _window(log)
    return {
        "verdict": "drift" if summary.drifted else "ok",
        "drifted": len(summary.drifted_columns),
        "psi_limit": summary.limits.psi_limit,
        "max_drifted": summary.limits.max_drifted,
        "rows": summary.rows,
        "skipped_lines": log.skipped,
        "version": summary.version,
        "versions": summary.versions,
        "first": first,
        "last": last,
        "features": {column.name: column.as_json() for column in summary.features},
        "prediction": summary.prediction.as_json(),
    }


def _shown(path: Path) -> str:
    """A path as the terminal shows it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _versions_text(summary: DriftSummary) -> str:
    if summary.version is not None:
        return f"model version {summary.version}"
    names = list(summary.versions)
    return f"model version{'s' if len(names) > 1 else ''} {', '.join(names)}"


def draw_column(column: ColumnDrift, reference: pd.Series, logged: pd.Series) -> Figure:
    """Training and logged distributions of one column, overlaid.

    A bare Figure, not pyplot: no global figure state to close, no GUI backend to pick.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4.4, 2.8))
    axes = figure.subplots()
    if column.kind == "numeric":
        expected = pd.to_numeric(reference, errors="coerce").dropna().to_numpy(dtype=float)
        actual = pd.to_numeric(logged, errors="coerce").dropna().to_numpy(dtype=float)
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
        bottom = 0.12
    else:
        binned = bin_categorical(reference, logged)
        places = np.arange(len(binned.labels))
        axes.bar(places - 0.2, binned.reference, width=0.4, label="training", alpha=0.7)
        axes.bar(places + 0.2, binned.logged, width=0.4, label="logged", alpha=0.7)
        axes.set_xticks(places, [label[:12] for label in binned.labels], rotation=30, ha="right")
        axes.set_ylabel("share")
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


def png_base64(figure: Figure) -> str:
    """The figure as a PNG, base64-encoded for an <img> data URI (drawn by the Agg backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)  # attaches itself to the figure: savefig draws with Agg
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


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


def report_html(
    summary: DriftSummary, log: RequestLog, reference: pd.DataFrame, target: str
) -> str:
    """The report as one self-contained page: the verdict, a table of every column, their histograms."""
    verdict = "drift" if summary.drifted else "ok"
    times = log.times.dropna()
    window = (
        f", {times.min():%Y-%m-%d %H:%M} to {times.max():%Y-%m-%d %H:%M} UTC" if len(times) else ""
    )
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
    lines = f"{log.skipped} line{'s' if log.skipped != 1 else ''}"
    skipped = f" {lines} cut short (a worker stopped mid-write) skipped." if log.skipped else ""
    written = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
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
<p>{summary.rows:,} logged rows ({html.escape(_versions_text(summary))}{window}) against the
{len(reference):,} rows of the training split.{skipped} Written {written}.</p>
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
