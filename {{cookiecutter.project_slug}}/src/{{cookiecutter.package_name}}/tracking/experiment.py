"""Point MLflow at the project's tracking store and experiment."""

from __future__ import annotations

import mlflow
from mlflow.tracking import MlflowClient

from {{ cookiecutter.package_name }}.settings import Settings


def project_experiment_id(settings: Settings) -> str:
    """The id of the project's experiment in the tracking store in use, created when missing."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return str(experiment.experiment_id)
    # In the embedded store, artifacts go to the project's folder, never to the current directory.
    embedded = settings.tracking_uri is None
    own_store = embedded and mlflow.get_tracking_uri() == settings.resolved_tracking_uri
    location = settings.artifacts_dir.as_uri() if own_store else None
    return str(client.create_experiment(settings.experiment_name, artifact_location=location))


def use_project_experiment(settings: Settings) -> str:
    """Set the tracking URI from the settings and return the project experiment's id."""
    if settings.tracking_uri is None:
        settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.resolved_tracking_uri)
    return project_experiment_id(settings)
