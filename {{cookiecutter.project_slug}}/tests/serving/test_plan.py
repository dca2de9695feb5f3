"""Tests for the control channel between deploy commands and a server: the plan file and the worker reports."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel
from {{ cookiecutter.package_name }}.serving.plan import (
    Plan,
    PlanError,
    excerpt,
    read_reports,
    reports_folder,
    write_report,
)
from {{ cookiecutter.package_name }}.serving.routes import add_health
from {{ cookiecutter.package_name }}.serving.routing import Router, Routes, StalePlanError


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


def test_a_plan_that_is_not_a_mapping_is_refused_in_whole_words(tmp_path: Path) -> None:
    """`[]` is refused on one line that names its type; no message is cut in the middle of a word."""
    path = tmp_path / "plan.json"
    path.write_text("[]")
    with pytest.raises(PlanError) as refused:
        Plan.read(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: the deploy plan cannot be read (")
    assert message.endswith("must be a mapping, not a list)")
    assert "\n" not in message


def test_a_long_message_is_cut_between_words() -> None:
    """An excerpt ends on a whole word (or the limit, in one long word), marked by "..."."""
    assert excerpt("short enough", 80) == "short enough"
    assert excerpt("must be a mapping, not list", 26) == "must be a mapping, not..."
    assert excerpt("ab cde fgh", 6) == "ab cde..."
    assert excerpt("x" * 100, 10) == "x" * 10 + "..."


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": NaN}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": Infinity}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": 1e999}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": -1}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": 100.5}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": "10"}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": "4", "percent": true}', "percent"),
        ('{"generation": 2, "champion": "3", "challenger": 4, "percent": 10}', "challenger"),
        ('{"generation": 2}', "champion"),
        ('{"generation": 2, "champion": ["3"]}', "champion"),
        ('{"generation": 2, "champion": ""}', "champion"),
        ('{"champion": "3"}', "generation"),
        ('{"generation": "2", "champion": "3"}', "generation"),
        ('{"generation": 2.0, "champion": "3"}', "generation"),
        ('{"generation": true, "champion": "3"}', "generation"),
        ('{"generation": NaN, "champion": "3"}', "generation"),
        ('{"generation": 2, "champion": "3", "percentage": 10}', "percentage"),
    ],
)
def test_a_plan_with_a_missing_or_wrong_field_cannot_be_read(
    tmp_path: Path, text: str, field: str
) -> None:
    """A field missing, of the wrong type, non-finite or out of range: one line naming the field."""
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(PlanError, match="the deploy plan cannot be read") as refused:
        Plan.read(path)
    message = str(refused.value)
    assert field in message.split("cannot be read", 1)[1], message
    assert "\n" not in message


def test_valid_plans_read_as_before(tmp_path: Path) -> None:
    """A whole-number percent, the bounds 0 and 100, no challenger: all read as plans."""
    path = tmp_path / "plan.json"
    path.write_text('{"generation": 5, "champion": "3", "challenger": "4", "percent": 10}')
    plan = Plan.read(path)
    assert plan == Plan(5, "3", "4", 10.0)
    assert plan is not None
    assert isinstance(plan.percent, float)
    for percent in (0, 100.0):
        Plan(6, "3", "4", percent).write(path)
        assert Plan.read(path) == Plan(6, "3", "4", float(percent))
    path.write_text('{"generation": 7, "champion": "3", "challenger": null}')
    assert Plan.read(path) == Plan(7, "3")


def test_a_worker_ignores_a_plan_older_than_the_one_it_applied(
    tmp_path: Path, loaded_model: LoadedModel
) -> None:
    """Generations only grow: plan 7 after plan 99 is ignored, logged and shown in /health; 100 is applied."""
    plan_file = tmp_path / "deploy" / "plan.json"
    loaded: list[str] = []

    def loader(version: str) -> LoadedModel:
        loaded.append(version)
        return replace(loaded_model, version=version)

    router = Router(Routes(loaded_model, generation=99), plan_file, loader)
    app = FastAPI()
    add_health(app, router, instance=None)
    client = TestClient(app)

    Plan(7, "8").write(plan_file)
    with pytest.raises(StalePlanError, match="older") as ignored:
        asyncio.run(router.follow_once())
    assert "plan 7 is older than plan 99" in str(ignored.value)
    assert loaded == [], "nothing of the older plan is loaded"
    assert router.routes.generation == 99
    report = json.loads(next(reports_folder(plan_file).glob("*.json")).read_text())
    assert (report["ok"], report["generation"]) == (False, 7), "refused, so a deploy waiting fails"
    assert report["version"] == loaded_model.version, "what it still serves"

    async def follow_a_while() -> None:
        Plan(8, "9").write(plan_file)
        follower = asyncio.create_task(router.follow())
        for _ in range(40):
            await asyncio.sleep(0.05)
            if router.follow_error:
                break
        follower.cancel()

    asyncio.run(follow_a_while())
    assert "older" in (client.get("/health").json()["plan_error"] or ""), "/health says why"
    assert router.routes.generation == 99
    assert loaded == []

    Plan(100, loaded_model.version).write(plan_file)
    asyncio.run(router.follow_once())
    assert router.routes.generation == 100, "a newer plan is applied"
    assert client.get("/health").json()["plan_error"] is None
