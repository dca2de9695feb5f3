"""`make tune-apply`: the best trial's values into params.yaml, every comment and other line kept."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.pipeline.params import Params, load_params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tuning import TuneError
from {{ cookiecutter.package_name }}.tuning.apply import apply_best
from {{ cookiecutter.package_name }}.tuning.search import Search, run_search

from tests.tuning.conftest import PARAMS_FILE


@pytest.fixture
def own_params(prepared: Settings, quick_params: Params, tmp_path: Path) -> Search:
    """A search over its own journal, whose settings point at a copy of the shipped params.yaml."""
    copy = prepared.project_root / f"params-{tmp_path.name}.yaml"
    shutil.copy(PARAMS_FILE, copy)
    settings = prepared.model_copy(
        update={"tune_storage": str(tmp_path / "journal.log"), "params_file": copy}
    )
    return Search.of(settings, quick_params)


def test_apply_writes_the_best_values_and_keeps_the_rest(own_params: Search) -> None:
    """Only the searched values change, on their own lines; the result loads as the best trial's params."""
    study = run_search(own_params, trials=4, workers=1)
    before = own_params.settings.params_file.read_text()

    changes = apply_best(own_params.settings, own_params)

    after = own_params.settings.params_file.read_text()
    changed = [
        (old, new)
        for old, new in zip(before.splitlines(), after.splitlines(), strict=True)
        if old != new
    ]
    assert {new.split(":")[0].strip() for _, new in changed} == {name for name, _, _ in changes}
    assert all("#" in new for old, new in changed if "#" in old), "comments stay"
    written = load_params(own_params.settings.params_file).model.model_dump()
    for name, value in study.best_trial.params.items():
        assert written[name] == value
    applied = own_params.params.model_copy(
        update={"model": load_params(own_params.settings.params_file).model}
    )
    assert apply_best(own_params.settings, replace(own_params, params=applied)) == []


def test_apply_refuses_a_study_without_a_complete_trial(own_params: Search) -> None:
    """Nothing to apply: refused, the file untouched."""
    before = own_params.settings.params_file.read_bytes()
    own_params.study()  # created, empty
    with pytest.raises(TuneError, match="has no complete trial yet"):
        apply_best(own_params.settings, own_params)
    assert own_params.settings.params_file.read_bytes() == before


def test_apply_refuses_a_study_that_does_not_exist(own_params: Search) -> None:
    """No search yet (or the data changed since): refused with the fix."""
    with pytest.raises(TuneError, match="run make tune first"):
        apply_best(own_params.settings, own_params)
