"""Tests for what a worker serves: canary routing, plan swaps, metrics and the sampled request log."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from {{ cookiecutter.package_name }}.model.loaded import LoadedModel
from {{ cookiecutter.package_name }}.serving.app import create_app
from {{ cookiecutter.package_name }}.serving.plan import Plan
from {{ cookiecutter.package_name }}.serving.routes import add_health
from {{ cookiecutter.package_name }}.serving.routing import CheckFailedError, Router, Routes, check
from {{ cookiecutter.package_name }}.settings import Settings


def rows_of(model: LoadedModel, count: int = 1) -> dict[str, Any]:
    """A scoring payload of the model's first example rows."""
    assert model.input_example is not None
    frame = model.input_example.head(count)
    return {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}


def test_the_canary_gets_its_share_and_a_request_id_is_pinned(served: LoadedModel) -> None:
    """10% of request ids go to the challenger (within a sane band); the same id always goes the same way."""
    routes = Routes(served, replace(served, version="4"), percent=10)
    picked = [routes.pick(f"client-{number}")[1] for number in range(10_000)]
    share = picked.count("challenger") / len(picked)
    assert 0.08 < share < 0.12, f"challenger share {share:.3f} for 10%"
    assert {routes.pick("client-7")[1] for _ in range(20)} == {picked[7]}, "pinned by its id"
    unpinned = [routes.pick(None)[1] for _ in range(10_000)]
    assert 0.08 < unpinned.count("challenger") / len(unpinned) < 0.12


def test_every_answer_names_its_version_and_metrics_count_them(
    settings: Settings, served: LoadedModel
) -> None:
    """Headers name the answering version; /metrics has requests, latency, rows and classes per version."""
    routes = Routes(served, replace(served, version="4"), percent=50)
    client = TestClient(create_app(settings, routes=routes))
    versions = set()
    for number in range(40):
        answer = client.post(
            "/invocations", json=rows_of(served, 2), headers={"X-Request-ID": f"r{number}"}
        )
        assert answer.status_code == 200
        versions.add((answer.headers["X-Model-Version"], answer.headers["X-Model-Alias"]))
    assert versions == {("3", "champion"), ("4", "challenger")}
    refused = client.post(
        "/invocations", json={"dataframe_split": {"columns": ["x"], "data": [[1]]}}
    )
    assert refused.status_code == 400
    assert refused.headers["X-Model-Version"] in {"3", "4"}, "errors name the version too"
    health = client.get("/health").json()
    assert health["challenger"] == {"version": "4", "percent": 50}

    exposition = client.get("/metrics").text
    assert (
        '{{ cookiecutter.package_name }}_requests_total{alias="champion",endpoint="/invocations",status="200",version="3"}'
        in exposition
    )
    assert 'status="400"' in exposition
    rows = {
        line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in exposition.splitlines()
        if line.startswith("{{ cookiecutter.package_name }}_rows_scored_total{")
    }
    assert sum(rows.values()) == 80, "two rows per request"
    assert "{{ cookiecutter.package_name }}_request_duration_seconds_bucket{" in exposition
    assert "{{ cookiecutter.package_name }}_predicted_class_total{" in exposition


def test_sampled_requests_are_logged_with_features_and_predictions(
    settings: Settings, served: LoadedModel
) -> None:
    """At rate 1 every request's first rows are logged as JSON lines; at rate 0 nothing is written."""
    logged = settings.model_copy(
        update={"serve_request_log_rate": 1.0, "serve_request_log_rows": 2}
    )
    client = TestClient(create_app(logged, served))
    for _ in range(3):
        assert client.post("/invocations", json=rows_of(served, 5)).status_code == 200
    files = list((settings.log_dir / "requests").glob("*.jsonl"))
    assert len(files) == 1
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(lines) == 6, "two rows of each of the three requests"
    assert set(lines[0]["features"]) == set(served.columns)
    assert lines[0]["version"] == "3"
    assert lines[0]["prediction"] in (0, 1, 2)

    quiet = settings.model_copy(
        update={"serve_request_log_rate": 0.0, "log_dir": settings.log_dir / "quiet"}
    )
    client = TestClient(create_app(quiet, served))
    assert client.post("/invocations", json=rows_of(served)).status_code == 200
    assert not (quiet.log_dir / "requests").exists()


def test_a_plan_swaps_the_routes_and_a_broken_version_changes_nothing(
    tmp_path: Path, served: LoadedModel
) -> None:
    """A plan whose version loads and answers its example is served; one that fails is reported, not served."""
    broken = replace(
        served, version="5", serving_example={"dataframe_split": {"columns": ["x"], "data": [[1]]}}
    )
    versions = {"4": replace(served, version="4"), "5": broken}

    def loader(version: str) -> LoadedModel:
        if version not in versions:
            raise FileNotFoundError(f"no version {version}")
        return versions[version]

    plan_file = tmp_path / "deploy" / "plan.json"
    router = Router(Routes(served), plan_file, loader)
    swaps: list[Routes] = []
    router.listeners.append(swaps.append)

    asyncio.run(router.apply(Plan(2, "4")))
    assert router.routes.champion.version == "4"
    assert len(swaps) == 1
    report = json.loads(next((tmp_path / "deploy" / "workers").glob("*.json")).read_text())
    assert (report["ok"], report["generation"], report["version"]) == (True, 2, "4")

    for plan in (Plan(3, "5"), Plan(4, "4", challenger="9", percent=10)):
        asyncio.run(router.apply(plan))
        assert router.routes.champion.version == "4", f"plan {plan.generation} changed nothing"
        report = json.loads(next((tmp_path / "deploy" / "workers").glob("*.json")).read_text())
        assert (report["ok"], report["generation"]) == (False, plan.generation)
        assert report["error"]
    assert len(swaps) == 1


def test_a_version_without_a_working_example_is_never_served(served: LoadedModel) -> None:
    """The check refuses a version with no serving example, or one it cannot score."""
    check(served)
    with pytest.raises(CheckFailedError, match="no serving example"):
        check(replace(served, serving_example=None))
    with pytest.raises(CheckFailedError, match="failed its serving example"):
        check(replace(served, serving_example={"inputs": "garbage"}))


def test_the_typed_route_follows_a_champion_with_other_columns(
    settings: Settings, served: LoadedModel
) -> None:
    """After a swap to a champion with other columns, /predict and /docs take its columns."""
    app = create_app(settings, routes=Routes(served))
    client = TestClient(app)

    def fields() -> set[str]:
        schemas = client.get("/openapi.json").json()["components"]["schemas"]
        return set(schemas["Row"]["properties"])

    assert fields() == set(served.columns)
    fewer = dict(list(served.columns.items())[:3])
    for listener in app.state.router.listeners:
        listener(Routes(replace(served, version="4", columns=fewer)))
    assert fields() == set(fewer)
    refused = client.post("/predict", json={"rows": [dict.fromkeys(served.columns, 1.0)]})
    assert refused.status_code == 422, "the old column is unknown now"


def test_metrics_can_be_turned_off(settings: Settings, served: LoadedModel) -> None:
    """With SERVE_METRICS off there is no /metrics, and scoring works as before."""
    client = TestClient(create_app(settings.model_copy(update={"serve_metrics": False}), served))
    assert client.get("/metrics").status_code == 404
    assert client.post("/invocations", json=rows_of(served)).status_code == 200


def test_an_unreadable_plan_is_reported_and_following_goes_on(
    tmp_path: Path, served: LoadedModel
) -> None:
    """A truncated plan file never stops a worker's following: /health says why, the next plan is applied."""
    plan_file = tmp_path / "deploy" / "plan.json"
    Plan(1, served.version).write(plan_file)
    router = Router(Routes(served), plan_file, lambda version: replace(served, version=version))
    app = FastAPI()
    add_health(app, router, instance=None)
    client = TestClient(app)

    async def follow_through_a_bad_plan() -> None:
        follower = asyncio.create_task(router.follow())
        plan_file.write_text('{"generation": 2, "champ')  # cut short, as by a full disk
        for _ in range(40):
            await asyncio.sleep(0.05)
            if router.follow_error:
                break
        assert "plan.json" in (client.get("/health").json()["plan_error"] or ""), "/health says why"
        Plan(3, "4").write(plan_file)
        for _ in range(40):
            await asyncio.sleep(0.05)
            if router.routes.champion.version == "4":
                break
        follower.cancel()

    asyncio.run(follow_through_a_bad_plan())
    assert router.routes.champion.version == "4", "the plan after the bad one was applied"
    assert router.follow_error is None
    assert client.get("/health").json()["plan_error"] is None


def test_a_plan_written_while_a_worker_starts_is_not_missed(
    tmp_path: Path, served: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan file's identity is taken before it is read: one replaced while loading is applied next."""
    plan_file = tmp_path / "deploy" / "plan.json"
    Plan(1, "1").write(plan_file)

    def loading_meanwhile(settings: Settings, alias: str | None, version: str) -> LoadedModel:
        if version == "1":  # while this worker loads version 1, a deploy writes the next plan
            Plan(2, "2").write(plan_file)
        return replace(served, version=version)

    monkeypatch.setattr("{{ cookiecutter.package_name }}.serving.routing.load_model", loading_meanwhile)
    settings = Settings(_env_file=None, project_root=tmp_path)
    router = Router.start(settings, plan_file)
    assert router.routes.champion.version == "1"

    asyncio.run(router.follow_once())
    assert router.routes.champion.version == "2", "the plan written during start-up is applied"
