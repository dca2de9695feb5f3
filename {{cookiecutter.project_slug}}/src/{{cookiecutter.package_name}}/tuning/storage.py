"""Where a study lives, and the study itself: Optuna's storages, its sampler and pruner, named by the data.

- A local project keeps its studies in Optuna's journal file (`.optuna/journal.log`): what Optuna recommends for
  several processes on one machine, with no database to run.
- Team mode (a tracking server, or `<PREFIX>TUNE_STORAGE` set to a database URL) uses Optuna's RDB storage on
  the team's PostgreSQL (database `optuna` beside MLflow's; `make tracking-db` creates both), so workers on any
  machine join the same study. Its heartbeat marks the trial of a worker that died FAIL, and Optuna's retry
  callback queues it again; `on_stale` lets the tracking end that trial's MLflow runs too.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..names import DISTRIBUTION, ENV_PREFIX
from ..settings import Settings, mask_credentials
from . import TuneError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from ..pipeline.params import Params

JOURNAL = Path(".optuna/journal.log")
TEAM_DATABASE = "optuna"
HEARTBEAT_SECONDS = 5  # a running trial's worker writes a heartbeat this often (RDB storage)
GRACE_SECONDS = 15  # a trial this long without a heartbeat is FAIL, and queued again
RETRIES = 2  # times a trial whose worker died is queued again
CREATE_ATTEMPTS = 5  # tries to open a new database that other workers are creating the tables of
StaleCallback = Callable[["optuna.Study", "FrozenTrial"], None]


def storage_location(settings: Settings) -> str:
    """The study's storage: `<PREFIX>TUNE_STORAGE`, else the team's PostgreSQL or the local journal file."""
    if settings.tune_storage:
        return settings.tune_storage
    if settings.tracking_server:
        from sqlalchemy.engine import make_url

        backend = make_url(settings.tracking_server_backend_uri)
        return backend.set(database=TEAM_DATABASE).render_as_string(hide_password=False)
    return str(settings.project_root / JOURNAL)


def is_database(location: str) -> bool:
    """True for an SQLAlchemy URL (RDB storage), False for a journal file path."""
    return "://" in location


def open_storage(settings: Settings, on_stale: StaleCallback | None = None) -> Any:
    """Optuna's storage for the project's studies; an unreachable database is one TuneError naming it."""
    import optuna

    location = storage_location(settings)
    if not is_database(location):
        path = Path(location)
        path.parent.mkdir(parents=True, exist_ok=True)
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    retry = retry_callback()

    def stale(study: optuna.Study, trial: FrozenTrial) -> None:
        retry(study, trial)
        if on_stale:
            on_stale(study, trial)

    try:
        return _rdb_storage(location, stale)
    except Exception as error:  # sqlalchemy's OperationalError, a missing driver, a bad URL
        raise TuneError(
            f"cannot open the Optuna storage {mask_credentials(location)} ({_reason(error)}): start "
            f"PostgreSQL and create the database (make tracking-db), or set {ENV_PREFIX}TUNE_STORAGE in .env"
        ) from None


def _rdb_storage(location: str, stale: StaleCallback) -> Any:
    """Optuna's RDB storage with the heartbeat; tables another worker is creating at the same moment are waited for.

    Optuna creates its tables on first use: several workers started at once on a new database race to create
    them, and all but one get a unique-key error from PostgreSQL. They try again once the winner is done.
    """
    import optuna
    import sqlalchemy.exc

    def build() -> Any:
        # The heartbeat is "experimental" since Optuna 2.8: it is what Optuna offers for lost workers.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                location,
                engine_kwargs={"pool_pre_ping": True, "connect_args": _connect_args(location)},
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=stale,
            )

    for _ in range(CREATE_ATTEMPTS - 1):
        try:
            return build()
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError):
            time.sleep(1.0)  # another worker is creating the tables
    return build()


def retry_callback() -> StaleCallback:
    """Optuna's callback that queues a trial whose worker died again, up to RETRIES times."""
    import optuna

    # Experimental since Optuna 2.8, and what its docs show for a worker that is lost.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=RETRIES)


def _connect_args(location: str) -> dict[str, Any]:
    """Fail fast on a database that does not answer (PostgreSQL's connect timeout, in seconds)."""
    return {"connect_timeout": 5} if location.startswith("postgresql") else {}


def _reason(error: BaseException) -> str:
    """The first line of the driver's message (sqlalchemy wraps it in a long one)."""
    origin = getattr(error, "orig", None) or error
    lines = str(origin).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def study_name(params: Params, data_hash: str) -> str:
    """The project, and a digest of the data and of what the search is: a change starts a new study."""
    assert params.tune is not None
    search = params.model_dump(include={"task", "seed", "split", "data", "tune"})
    digest = hashlib.sha256(json.dumps([data_hash, search], sort_keys=True).encode()).hexdigest()
    return f"{DISTRIBUTION}-{digest[:10]}"


def open_study(storage: Any, name: str, params: Params, seed_offset: int = 0) -> optuna.Study:
    """Create or load the study: seeded TPE sampler (plus a worker's offset), the pruner of `tune.pruner`."""
    import optuna

    assert params.tune is not None
    optuna.logging.set_verbosity(
        optuna.logging.WARNING
    )  # each trial's line is the project's (trials.py)
    _, higher = params.tuned_metric()
    pruners: dict[str, optuna.pruners.BasePruner] = {
        "median": optuna.pruners.MedianPruner(n_startup_trials=3),
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner(),
        "none": optuna.pruners.NopPruner(),
    }
    return optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize" if higher else "minimize",
        sampler=optuna.samplers.TPESampler(seed=params.tune.seed + seed_offset),
        pruner=pruners[params.tune.pruner],
        load_if_exists=True,
    )


def shown_location(settings: Settings) -> str:
    """The storage as a message may show it: no password, the journal relative to the project."""
    location = storage_location(settings)
    if is_database(location):
        return mask_credentials(location)
    path = Path(location)
    return (
        str(path.relative_to(settings.project_root))
        if path.is_relative_to(settings.project_root)
        else location
    )
