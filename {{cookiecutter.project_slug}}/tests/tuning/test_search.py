"""A search in this process against a real journal file and MLflow store: runs, states, faults, recovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.pipeline.params import Params
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tuning import TuneError, search
from {{ cookiecutter.package_name }}.tuning.objective import Objective
from {{ cookiecutter.package_name }}.tuning.search import Search, run_search
from {{ cookiecutter.package_name }}.tuning.storage import open_storage
from {{ cookiecutter.package_name }}.tuning.trials import RUNS_ATTR, STATE_TAG, STUDY_TAG, TRIAL_TAG

STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


@pytest.fixture
def fresh(prepared: Settings, quick_params: Params, tmp_path: Path) -> Search:
    """A search with its own journal file and experiment, so each test starts an empty study."""
    own = {
        "tune_storage": str(tmp_path / "journal.log"),
        "experiment_name": f"tune-{tmp_path.name}",
    }
    settings = prepared.model_copy(update=own)
    return Search.of(settings, quick_params)


def runs_of(found: Search) -> dict[str, Any]:
    """The search's runs in the store: trial number -> run, and 'search' -> the search's run."""
    client = MlflowClient(found.settings.resolved_tracking_uri)
    runs = client.search_runs([found.experiment_id], f"tags.`{STUDY_TAG}` = '{found.name}'")
    return {run.data.tags.get(TRIAL_TAG, run.info.run_name): run for run in runs}


def test_every_trial_is_one_nested_run_in_its_final_state(fresh: Search) -> None:
    """Trial runs under the search's run: params, curve, state tag and the status that matches it."""
    study = run_search(fresh, trials=6, workers=1)

    runs = runs_of(fresh)
    parent = runs.pop("tune")
    assert parent.info.status == "FINISHED"
    assert sorted(map(int, runs)) == [trial.number for trial in study.trials] == list(range(6))
    metric, _ = fresh.params.tuned_metric()
    for trial in study.trials:
        run = runs[str(trial.number)]
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags[STATE_TAG] == trial.state.name
        assert run.info.status == STATUS[trial.state.name]
        assert {name: float(value) for name, value in run.data.params.items()} == pytest.approx(
            trial.params
        )
        history = MlflowClient().get_metric_history(run.info.run_id, f"val_{metric}")
        assert {point.step: point.value for point in history} == trial.intermediate_values
    best = study.best_trial
    assert parent.data.tags["optuna.best_trial"] == str(best.number)
    assert parent.data.metrics[f"best_val_{metric}"] == pytest.approx(best.value)
    artifacts = {item.path for item in MlflowClient().list_artifacts(parent.info.run_id, "tune")}
    assert artifacts == {"tune/optimization_history.png", "tune/param_importances.png"}


def test_a_rerun_resumes_the_study_with_the_same_seeded_trials(fresh: Search) -> None:
    """The same data and params resume one study: new trial numbers; one worker's seed repeats its trials."""
    first = [trial.params for trial in run_search(fresh, trials=3, workers=1).trials]
    again = run_search(fresh, trials=2, workers=1)
    assert [trial.number for trial in again.trials] == list(range(5))

    journal = Path(str(fresh.settings.tune_storage)).with_name("other.log")
    other = fresh.settings.model_copy(
        update={
            "tune_storage": str(journal),
            "experiment_name": f"{fresh.settings.experiment_name}-2",
        }
    )
    replay = run_search(Search.of(other, fresh.params), trials=3, workers=1)
    assert [trial.params for trial in replay.trials] == first


def test_a_trial_that_raises_is_fail_with_its_error_and_the_study_goes_on(
    fresh: Search, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error in one trial: that trial FAIL (run FAILED, error tagged), the others still run."""

    class Flaky(Objective):
        def __call__(self, trial: optuna.trial.BaseTrial, on_checkpoint: Any = None) -> float:
            if trial.number == 1:
                raise ValueError("the disk is full")
            return super().__call__(trial, on_checkpoint)

    monkeypatch.setattr(search, "Objective", Flaky)
    study = run_search(fresh, trials=3, workers=1)

    assert [trial.state.name for trial in study.trials][1] == "FAIL"
    assert len(study.trials) == 3
    failed = runs_of(fresh)["1"]
    assert (failed.info.status, failed.data.tags[STATE_TAG]) == ("FAILED", "FAIL")
    assert failed.data.tags["optuna.error"] == "ValueError: the disk is full"


def test_an_interrupted_search_ends_its_runs_killed(
    fresh: Search, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl+C (or SIGTERM, which the command line turns into it) mid-trial ends the runs KILLED.

    That trial's run and the search's end KILLED, nothing stays RUNNING, and the next search resumes the study.
    """

    class Interrupted(Objective):
        def __call__(self, trial: optuna.trial.BaseTrial, on_checkpoint: Any = None) -> float:
            if trial.number == 1:
                raise KeyboardInterrupt
            return super().__call__(trial, on_checkpoint)

    monkeypatch.setattr(search, "Objective", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_search(fresh, trials=3, workers=1)
    runs = runs_of(fresh)
    assert {key: run.info.status for key, run in runs.items()} == {
        "tune": "KILLED",
        "0": "FINISHED",
        "1": "KILLED",
    }
    assert runs["1"].data.tags["optuna.error"].startswith("interrupted")
    monkeypatch.undo()
    assert len(run_search(fresh, trials=1, workers=1).trials) == 3


def test_a_trial_left_running_by_a_dead_worker_is_failed_and_retried(fresh: Search) -> None:
    """A trial and run left RUNNING by a local worker killed mid-trial: the next search fails and retries it.

    Both are ended (trial FAIL, run KILLED), and the trial's parameters are queued again.
    """
    study = fresh.study()
    abandoned = study.ask()
    abandoned.suggest_float("learning_rate", 0.05, 0.3, log=True)
    client = MlflowClient(fresh.settings.resolved_tracking_uri)
    orphan = client.create_run(fresh.experiment_id, tags={STUDY_TAG: fresh.name, TRIAL_TAG: "0"})
    abandoned.set_user_attr(RUNS_ATTR, {"trial": 0, "run": orphan.info.run_id, "worker": None})

    resumed = run_search(fresh, trials=1, workers=1)

    states = [trial.state.name for trial in resumed.trials]
    assert states[0] == "FAIL"
    assert "RUNNING" not in states
    assert resumed.trials[1].params["learning_rate"] == abandoned.params["learning_rate"]
    assert client.get_run(orphan.info.run_id).info.status == "KILLED"


def test_a_second_search_of_the_project_is_refused(fresh: Search) -> None:
    """Two `make tune` at once would both think the other's trials abandoned: the second one is refused."""
    with search.search_lock(fresh.settings), pytest.raises(TuneError, match="another make tune"):
        run_search(fresh, trials=1, workers=1)


def test_an_unreachable_database_is_one_line_naming_it_masked(prepared: Settings) -> None:
    """A storage that cannot be opened names itself (password masked) and the fix."""
    settings = prepared.model_copy(
        update={"tune_storage": "sqlite:////nonexistent/folder/optuna.db"}
    )
    with pytest.raises(TuneError, match=r"cannot open the Optuna storage sqlite:////nonexistent"):
        open_storage(settings)
    secret = prepared.model_copy(
        update={"tune_storage": "postgresql+psycopg://tuner:s3cret@127.0.0.1:1/optuna"}
    )
    with pytest.raises(TuneError) as refused:
        open_storage(secret)
    assert "s3cret" not in str(refused.value)
    assert "tuner:***@127.0.0.1:1" in str(refused.value)
    assert "make tracking-db" in str(refused.value)


def test_without_a_tune_section_the_search_says_what_to_add(
    prepared: Settings, quick_params: Params
) -> None:
    """params.yaml without tune: is refused with the fix, before anything is opened."""
    with pytest.raises(TuneError, match="has no tune: section"):
        Search.of(prepared, quick_params.model_copy(update={"tune": None}))
