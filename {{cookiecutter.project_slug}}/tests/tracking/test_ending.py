"""Tests for the end of a tracked run: which one error its caller sees once the run has ended."""

from __future__ import annotations

from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.tracking.ending import MetricFlushError, raise_after_end
from {{ cookiecutter.package_name }}.tracking.interruption import TrackingInterruptedError
from {{ cookiecutter.package_name }}.tracking.spool import Spool


def test_an_interruption_is_told_first_then_lost_points_then_a_callback() -> None:
    """A spooled run is reported interrupted, whatever else failed; lost points come before a callback."""
    lost = MetricFlushError("3 metric points of run r were not written")
    callback = RuntimeError("broken callback")
    spool = Spool(Path("spool"), "r")

    with pytest.raises(TrackingInterruptedError, match="run r was interrupted"):
        raise_after_end(spool, lost, callback)
    with pytest.raises(MetricFlushError) as flushed:
        raise_after_end(None, lost, callback)
    assert flushed.value is lost
    with pytest.raises(RuntimeError) as ended:
        raise_after_end(None, None, callback)
    assert ended.value is callback
    raise_after_end(None, None, None)  # a run that ended well raises nothing
