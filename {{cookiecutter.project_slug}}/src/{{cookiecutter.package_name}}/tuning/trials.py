"""Each trial as an MLflow run, nested under the search's run: its parameters, its curve and its outcome.

A trial's run carries the parameters Optuna proposed, the validation score at each checkpoint (metric steps),
Optuna's state as a tag (COMPLETE, PRUNED or FAIL, with the error) and the run status to match (FINISHED,
KILLED or FAILED). The trial records its run, so whoever finds the trial abandoned (Optuna's heartbeat, or the
next local search) ends that run too: no run stays RUNNING after its worker died.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from loguru import logger

from ..tracking import tracked_run
from .objective import Objective
from .storage import GRACE_SECONDS, retry_callback

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient
    from optuna.trial import FrozenTrial

    from ..tracking import TrackedRun

PARENT_TAG = "mlflow.parentRunId"  # MLflow's own tag: the UI nests the trial under the search
STUDY_TAG = "optuna.study"
TRIAL_TAG = "optuna.trial"
STATE_TAG = "optuna.state"
ERROR_TAG = "optuna.error"
RETRY_TAG = "optuna.retry_of"  # the trial number a retried trial repeats
# A trial's user attribute (one write): its number, its run, and the run of the worker that ran it.
RUNS_ATTR = "mlflow"
ERROR_SHOWN = 500  # characters of an error kept in the tag


def tracked_objective(
    objective: Objective,
    study: str,
    parent_run_id: str,
    experiment_id: str,
    worker_run_id: str | None = None,
) -> Callable[[optuna.Trial], float]:
    """The objective, each call inside a nested MLflow run of the trial."""

    def run_trial(trial: optuna.Trial) -> float:
        import mlflow

        tags = {PARENT_TAG: parent_run_id, STUDY_TAG: study, TRIAL_TAG: str(trial.number)}
        retried = trial.user_attrs.get(RUNS_ATTR)  # Optuna's retry copies the trial's attributes
        if retried is not None:
            tags[RETRY_TAG] = str(retried["trial"])
        nested = mlflow.active_run() is not None  # in the search's own process (one worker)
        name = f"trial-{trial.number}"
        with tracked_run(name, tags=tags, experiment_id=experiment_id, nested=nested) as run:
            runs = {"trial": trial.number, "run": run.run_id, "worker": worker_run_id}
            trial.set_user_attr(RUNS_ATTR, runs)
            value, pruned = _scored(objective, trial, run)
        if pruned is not None:
            raise pruned  # after the run ended KILLED: Optuna records the trial PRUNED
        return value

    return run_trial


def _scored(
    objective: Objective, trial: optuna.Trial, run: TrackedRun
) -> tuple[float, optuna.TrialPruned | None]:
    """Run the objective inside the trial's run: its curve, its state tag, and how the run ends."""
    import optuna
    from mlflow.entities import Param, RunTag

    metric, _ = objective.params.tuned_metric()
    outcome = {STATE_TAG: "FAIL"}

    def checkpoint(rounds: int, score: float) -> None:
        run.log_metric(f"val_{metric}", score, step=rounds)

    try:
        value = objective(trial, on_checkpoint=checkpoint)
    except optuna.TrialPruned as error:
        outcome[STATE_TAG], run.end_status = "PRUNED", "KILLED"
        logger.info("trial {}: {}", trial.number, error)
        return float("nan"), error
    except BaseException as error:  # a failure (FAILED) or an interruption (KILLED)
        outcome[ERROR_TAG] = describe(error)
        logger.warning("trial {} failed: {}", trial.number, outcome[ERROR_TAG])
        raise
    else:
        outcome[STATE_TAG] = "COMPLETE"
        logger.info("trial {}: {} {:.4g} with {}", trial.number, metric, value, trial.params)
        return value, None
    finally:  # the parameters Optuna proposed, the outcome and the curve, in one write
        run.flush(
            params=[Param(name, str(chosen)) for name, chosen in trial.params.items()],
            tags=[RunTag(key, text) for key, text in outcome.items()],
        )


def describe(error: BaseException) -> str:
    """An error as a tag holds it: its type and the start of its message."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl+C or SIGTERM)"
    return f"{type(error).__name__}: {error}"[:ERROR_SHOWN]


def end_abandoned_runs(client: MlflowClient, trial: FrozenTrial, reason: str) -> None:
    """End the runs of a trial whose worker is gone: the trial's (FAIL) and, in team mode, the worker's."""
    runs = trial.user_attrs.get(RUNS_ATTR) or {}
    run_id = runs.get("run")
    if run_id and client.get_run(run_id).info.status == "RUNNING":
        client.set_tag(run_id, STATE_TAG, "FAIL")
        client.set_tag(run_id, ERROR_TAG, reason)
        client.set_terminated(run_id, "KILLED")
    worker = runs.get("worker")
    if worker and client.get_run(worker).info.status == "RUNNING":
        client.set_tag(worker, ERROR_TAG, f"worker lost during trial {trial.number}: {reason}")
        client.set_terminated(worker, "KILLED")


def stale_trial_handler(client: MlflowClient) -> Callable[[optuna.Study, FrozenTrial], None]:
    """What Optuna's heartbeat calls for a trial whose worker stopped beating (after queueing it again)."""

    def handle(_study: optuna.Study, trial: FrozenTrial) -> None:
        end_abandoned_runs(client, trial, f"no heartbeat from its worker for {GRACE_SECONDS} s")

    return handle


def fail_abandoned_trials(study: optuna.Study, client: MlflowClient) -> list[int]:
    """Trials left RUNNING by a local worker that died: FAIL them, queue them again, end their runs.

    Only for a local study while this project's search holds its lock: no live worker can own such a trial.
    """
    import optuna

    retry = retry_callback()
    numbers = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        failed = study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        retry(study, failed)
        end_abandoned_runs(client, failed, "its worker stopped before the trial ended")
        numbers.append(trial.number)
    return numbers
