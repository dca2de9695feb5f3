"""Running a search: `make tune` (worker processes on this machine, one study) and `make tune-worker` (team).

`make tune` takes the project's search lock, ends what a worker that died last time left RUNNING, opens one
MLflow run for the search, and starts WORKERS processes of `tune worker`, each running its share of the trials
in Optuna's `study.optimize` against the shared storage: Optuna hands out the trials, nothing here schedules
them. `make tune-worker` is one such worker on its own, with its own run, for the machines of a team.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from filelock import FileLock, Timeout
from loguru import logger

from ..names import PACKAGE
from ..pipeline.params import Params
from ..pipeline.prepare import read_splits
from ..pipeline.train import consumed_data_hash
from ..processes import stop_tree
from ..settings import Settings
from ..tracking import tracked_run
from ..tracking.store import connect, project_experiment_id
from . import TuneError
from .objective import Objective
from .storage import (
    is_database,
    open_storage,
    open_study,
    shown_location,
    storage_location,
    study_name,
)
from .summary import log_summary
from .trials import STUDY_TAG, fail_abandoned_trials, stale_trial_handler, tracked_objective

if TYPE_CHECKING:
    import optuna
    from mlflow.tracking import MlflowClient

LOCK = ".optuna/search.lock"


@dataclass(frozen=True)
class Search:
    """What every worker of one search shares: the params, the study, and the project's store."""

    settings: Settings
    params: Params
    name: str
    client: MlflowClient
    experiment_id: str

    @classmethod
    def of(cls, settings: Settings, params: Params) -> Search:
        """The search of the current data and params (`make data` first: the study is named after them)."""
        if params.tune is None:
            raise TuneError(
                f"{settings.params_file.name} has no tune: section: add one (docs/tuning.md)"
            )
        client = connect(settings)
        name = study_name(params, consumed_data_hash(settings))
        return cls(settings, params, name, client, project_experiment_id(settings, client))

    def study(self, seed_offset: int = 0) -> optuna.Study:
        """The shared study, created on first use (the storage's heartbeat ends a dead worker's runs)."""
        storage = open_storage(self.settings, on_stale=stale_trial_handler(self.client))
        return open_study(storage, self.name, self.params, seed_offset)

    def tags(self, role: str) -> dict[str, str]:
        """Tags of a search's or a worker's own run."""
        return {
            STUDY_TAG: self.name,
            "optuna.storage": shown_location(self.settings),
            "optuna.role": role,
            "optuna.worker": f"{socket.gethostname()}:{os.getpid()}",  # which machine, which process
        }


def optimize(
    search: Search,
    study: optuna.Study,
    trials: int,
    parent: str,
    worker: str | None,
    until: int | None = None,
) -> None:
    """Run trials of the study in this process: `trials` of them, or while the study has fewer than `until`.

    A trial that raises is FAIL and the study goes on. With `until`, Optuna's MaxTrialsCallback stops this
    worker once the study holds that many trials that started (running ones included, queued ones not): the
    workers of one search share its trials as they come, however late each one started.
    """
    import optuna

    splits = read_splits(search.settings.data_dir)
    objective = tracked_objective(
        Objective(search.params, splits), search.name, parent, search.experiment_id, worker
    )
    if until is None:
        study.optimize(objective, n_trials=trials, catch=(Exception,))
    elif _started_count(study) < until:
        stop = optuna.study.MaxTrialsCallback(until, states=_started_states())
        study.optimize(objective, catch=(Exception,), callbacks=[stop])


def _started_states() -> tuple[optuna.trial.TrialState, ...]:
    """Every trial state but WAITING: a trial queued and not run yet (a retry) has not started."""
    from optuna.trial import TrialState

    return tuple(state for state in TrialState if state != TrialState.WAITING)


def _started_count(study: optuna.Study) -> int:
    """How many of the study's trials have started: running or ended, queued ones not."""
    return len(study.get_trials(deepcopy=False, states=_started_states()))


def run_worker(
    search: Search, trials: int, parent: str | None, seed_offset: int, until: int | None = None
) -> None:
    """One worker: its trials under the search's run (`make tune`) or under a run of its own (team mode)."""
    study = search.study(seed_offset)
    if parent is not None:
        optimize(search, study, trials, parent, None, until)
        return
    with tracked_run(
        "tune-worker", tags=search.tags("worker"), experiment_id=search.experiment_id
    ) as run:
        optimize(search, study, trials, run.run_id, run.run_id)
        log_summary(run, study, search.params)


def run_search(search: Search, trials: int, workers: int) -> optuna.Study:
    """`make tune`: `workers` processes share `trials` trials of one study; the search's run sums them up."""
    # A local study while the lock is held: a RUNNING trial has no live worker. (A team's database has the
    # heartbeat for that: other machines' workers may be running there.)
    local = not is_database(storage_location(search.settings))
    with search_lock(search.settings):
        study = search.study()
        if local:
            _fail_left_over(study, search.client)
        with tracked_run(
            "tune", tags=search.tags("search"), experiment_id=search.experiment_id
        ) as run:
            run.log_params({"trials": trials, "workers": workers})
            if workers == 1:
                optimize(search, study, trials, run.run_id, None)
            else:  # this process is worker 0; the others start beside it and join as they are ready
                # Trials queued and not run yet (a retry) are among the TRIALS, as with one worker.
                until = _started_count(study) + trials
                with _workers(run.run_id, until, workers - 1, threads=_threads(workers)):
                    optimize(search, study, trials, run.run_id, None, until)
            if local:
                _fail_left_over(study, search.client)
            log_summary(run, study, search.params)
    return study


def _fail_left_over(study: optuna.Study, client: MlflowClient) -> None:
    for number in fail_abandoned_trials(study, client):
        logger.warning(
            "trial {} was left running by a worker that stopped: FAIL, queued again", number
        )


def _threads(workers: int) -> int:
    """The estimator's OpenMP threads per worker: the cores, shared.

    Two processes each spinning as many threads as there are cores run several times slower than the same
    trials one after the other.
    """
    return max(1, (os.cpu_count() or 1) // workers)


@contextlib.contextmanager
def _workers(parent: str, until: int, count: int, threads: int) -> Iterator[None]:
    """Start `count` `tune worker` processes for the block, this process working on `threads` threads.

    After the block, wait for them; on Ctrl+C or SIGTERM, stop them all.
    """
    from threadpoolctl import threadpool_limits

    command = [sys.executable, "-m", PACKAGE, "tune", "worker", "--parent-run", parent]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads))}
    processes = [
        subprocess.Popen([*command, "--until", str(until), "--seed-offset", str(index)], env=env)
        for index in range(1, count + 1)
    ]
    try:
        with threadpool_limits(threads):
            yield
        codes = [process.wait() for process in processes]
    except BaseException:
        for process in processes:
            stop_tree(process.pid)
        raise
    failed = [code for code in codes if code]
    if failed:
        raise TuneError(
            f"{len(failed)} of {count + 1} tune workers failed (exit {failed[0]}; their errors are "
            "above): fix it and run make tune again, which resumes the study"
        )


@contextlib.contextmanager
def search_lock(settings: Settings) -> Iterator[None]:
    """One `make tune` at a time per project (its workers share the study; a second search would not wait)."""
    path = settings.project_root / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise TuneError(
            "another make tune is running in this project: wait for it to end"
        ) from None
    try:
        yield
    finally:
        lock.release()


def best_values(study: optuna.Study) -> dict[str, Any]:
    """The best complete trial's parameters; TuneError when the study has none."""
    import optuna

    if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        raise TuneError(f"study {study.study_name} has no complete trial yet: run make tune first")
    return dict(study.best_trial.params)
