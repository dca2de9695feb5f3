"""Tests for the control channel between deploy commands and a server: the plan file and the worker reports."""

from __future__ import annotations

import os
from pathlib import Path

from {{ cookiecutter.package_name }}.serving.plan import Plan, read_reports, reports_folder, write_report


def test_a_plan_is_written_whole_and_read_back(tmp_path: Path) -> None:
    """A plan written to a new folder reads back equal; no temporary file is left beside it."""
    path = tmp_path / "deploy" / "plan.json"
    assert Plan.read(path) is None, "no plan yet"

    Plan(2, "3", challenger="4", percent=10.0).write(path)
    Plan(3, "4").write(path)

    assert Plan.read(path) == Plan(3, "4")
    assert [file.name for file in path.parent.iterdir()] == ["plan.json"]


def test_worker_reports_sit_beside_the_plan_and_read_back(tmp_path: Path) -> None:
    """A worker's report is its own file in the plan's folder; a report that is not JSON is skipped."""
    folder = reports_folder(tmp_path / "deploy" / "plan.json")
    assert folder == tmp_path / "deploy" / "workers"
    assert read_reports(folder) == [], "no worker has reported yet"

    write_report(folder, {"pid": os.getpid(), "generation": 1, "ok": True})
    write_report(
        folder, {"pid": os.getpid(), "generation": 2, "ok": True}
    )  # replaces this worker's
    (folder / "99999999.json").write_text('{"pid": 99999999, "gen')  # a torn write, by another hand

    assert read_reports(folder) == [{"pid": os.getpid(), "generation": 2, "ok": True}]
    assert (folder / f"{os.getpid()}.json").is_file()
