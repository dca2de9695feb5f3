"""Artifact repository for the project's own scheme: the store survives moving or copying the project folder.

The embedded store records each experiment's artifact location, and MLflow writes it as an absolute path,
so a moved project (or one restored on another machine) would point every run and registered version at a
folder that is gone. The project's experiments instead use `<slug>-artifacts:/<path>`: this class resolves
it, each time, in the `artifacts` folder beside the store's database, wherever that now is.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

from ..names import ARTIFACT_SCHEME

SQLITE = "sqlite:///"


def artifacts_root(tracking_uri: str | None) -> Path:
    """The artifacts folder of the store in use: beside its sqlite file, else the project's setting."""
    import mlflow

    uri = tracking_uri or mlflow.get_tracking_uri()
    if uri.startswith(SQLITE):
        # MLflow's docs open a store as sqlite:///mlflow.db, relative to the working folder, as sqlite does.
        database = Path(uri.removeprefix(SQLITE).partition("?")[0])
        return database.resolve().parent / "artifacts"
    # A server (the MLflow UI) opens the store without setting MLflow's URI: find the project instead.
    from ..settings import load_settings

    return load_settings().artifacts_dir


def local_uri(artifact_uri: str, tracking_uri: str | None = None) -> str:
    """The file URI a project artifact URI stands for, in the store's current folder."""
    scheme, _, path = artifact_uri.partition(":")
    if scheme != ARTIFACT_SCHEME:
        raise ValueError(f"{artifact_uri}: not a {ARTIFACT_SCHEME}: URI")
    return (artifacts_root(tracking_uri) / path.lstrip("/")).as_uri()


class ProjectArtifactRepository(LocalArtifactRepository):
    """Stores `<slug>-artifacts:/...` artifacts beside the project's store, wherever it now is."""

    def __init__(
        self, artifact_uri: str, tracking_uri: str | None = None, registry_uri: str | None = None
    ) -> None:
        super().__init__(local_uri(artifact_uri, tracking_uri), tracking_uri, registry_uri)
