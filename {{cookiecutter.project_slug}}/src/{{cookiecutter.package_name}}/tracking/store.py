"""The one owner of the MLflow store: the tracking URI, applied once per process, the client and the aliases.

Every module that talks to MLflow's tracking store or registry asks this one for its client; nothing else
calls `mlflow.set_tracking_uri` or builds an `MlflowClient` for the project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..names import ARTIFACT_SCHEME
from ..settings import Settings

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

CHAMPION = "champion"  # the version being served
PREVIOUS = "previous"  # the champion before it: where `rollback` goes
# MLflow's record of what an experiment is for: the project trains classical models, not GenAI apps. (MLflow
# 3.17's UI still opens on its GenAI overview unless the address says otherwise: `ui` in cli.py prints one.)
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def connect(settings: Settings) -> MlflowClient:
    """Point this process's MLflow at the project's store (the embedded one is created) and return a client."""
    import mlflow
    from mlflow.tracking import MlflowClient

    uri = settings.resolved_tracking_uri
    if mlflow.get_tracking_uri() != uri:
        if settings.tracking_uri is None:
            settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(uri)
    return MlflowClient(uri)


def unreadable_store(error: BaseException, settings: Settings) -> str | None:
    """One line for an embedded store that is not a database (corrupt, truncated), else None."""
    import sqlalchemy.exc

    if settings.tracking_uri is not None or not isinstance(error, sqlalchemy.exc.DatabaseError):
        return None
    database = settings.mlflow_dir / "mlflow.db"
    return (
        f"{database}: not a readable MLflow store ({getattr(error, 'orig', error)}); restore it from "
        "a backup, or move it away to start an empty one"
    )


def active_client() -> MlflowClient:
    """A client for whatever store this process's MLflow points at now (a notebook may have chosen another)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient()


def project_experiment_id(settings: Settings, client: MlflowClient) -> str:
    """The id of the project's experiment in the client's store, created (with its kind tag) when missing."""
    import mlflow
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return str(experiment.experiment_id)
    # In the embedded store, artifacts go to the project's folder, named relative to it (see
    # mlflow_plugin/artifacts.py): moving or copying the project keeps every run and model loadable.
    own_store = (
        settings.tracking_uri is None
        and mlflow.get_tracking_uri() == settings.resolved_tracking_uri
    )
    location = f"{ARTIFACT_SCHEME}:/" if own_store else None
    try:
        return str(
            client.create_experiment(
                settings.experiment_name, artifact_location=location, tags=EXPERIMENT_KIND
            )
        )
    except MlflowException:
        # Another process (a parallel DVC queue worker) created it first: use theirs.
        created = client.get_experiment_by_name(settings.experiment_name)
        if created is None:
            raise
        return str(created.experiment_id)
