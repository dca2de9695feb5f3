"""Tests of the drift check's statistics: binning, PSI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.stats import OTHER, bin_categorical, bin_numeric, psi


def test_identical_samples_have_no_drift() -> None:
    """The same sample against itself has a PSI of zero; a fresh sample of the same law stays small."""
    rng = np.random.default_rng(0)
    sample = pd.Series(rng.normal(size=2000))
    assert psi(bin_numeric(sample, sample)) == pytest.approx(0.0, abs=1e-12)
    again = pd.Series(rng.normal(size=2000))
    assert psi(bin_numeric(sample, again)) < 0.05, "sampling noise is not drift"


def test_a_shifted_normal_drifts() -> None:
    """Moving a normal sample by one standard deviation takes the PSI well past 0.2."""
    rng = np.random.default_rng(1)
    reference = pd.Series(rng.normal(size=2000))
    shifted = pd.Series(rng.normal(loc=1.0, size=2000))
    assert psi(bin_numeric(reference, shifted)) > 0.2


def test_numeric_bins_are_reference_deciles_with_open_ends() -> None:
    """Ten bins at the reference's deciles; values past its range land in the outer bins."""
    reference = pd.Series(np.arange(1000, dtype=float))
    binned = bin_numeric(reference, pd.Series([-1e9, 1e9]))
    assert len(binned.labels) == 10
    np.testing.assert_allclose(binned.reference, 0.1)
    assert (binned.logged[0], binned.logged[-1]) == (0.5, 0.5)


def test_unseen_categories_count_as_other() -> None:
    """A category the training data never had is counted in the other bin, and drifts."""
    reference = pd.Series(["a"] * 50 + ["b"] * 50)
    logged = pd.Series(["a"] * 50 + ["c"] * 50)
    binned = bin_categorical(reference, logged)
    assert binned.labels == ["a", "b", OTHER]
    np.testing.assert_allclose(binned.logged, [0.5, 0.0, 0.5])
    assert psi(binned) > 0.2
    assert psi(bin_categorical(reference, reference.sample(frac=1, random_state=0))) == 0.0
