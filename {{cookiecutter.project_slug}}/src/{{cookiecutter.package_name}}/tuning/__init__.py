"""Hyperparameter search on Optuna (`make tune`): one study that any number of worker processes share.

The study lives in an Optuna storage: a journal file for the processes of one machine, or the team's
PostgreSQL through Optuna's RDB storage for workers on several machines. Optuna proposes, prunes and records the
trials; this package supplies the objective (the project's own model, trained and scored as `make train` does)
and tracks each trial as a nested MLflow run.
"""

from ..errors import ProjectError


class TuneError(ProjectError, RuntimeError):
    """The search cannot run or apply: the message names the storage, study or key, and the fix."""
