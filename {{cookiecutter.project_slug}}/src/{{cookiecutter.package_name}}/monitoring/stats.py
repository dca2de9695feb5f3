"""The statistics of the drift check: two samples binned alike, their PSI, and a numeric column's KS test.

PSI is a few lines of numpy and KS one scipy call (scipy comes with scikit-learn); a drift library (evidently,
nannyml) would pull a large dependency tree into the project for these two statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

BINS = 10  # a numeric column's bins: the training data's deciles
CATEGORY_LIMIT = 20  # the most frequent training categories get a bin each; the others share OTHER
EPSILON = 1e-4  # the share an empty bin counts as, so that its log ratio stays finite
OTHER = "(other)"
MISSING = "(missing)"

Kind = Literal["numeric", "categorical"]


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


def numbers(values: pd.Series) -> np.ndarray:
    """The values that are numbers, as floats (text that is no number, and gaps, left out)."""
    return pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)


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

    expected, actual = numbers(reference), numbers(logged)
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
