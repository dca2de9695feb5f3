"""Default experiment provider: runs started in the project without an experiment go to the project's."""

from __future__ import annotations

from ..project import find_project_root


class ProjectExperimentProvider:
    """Sends runs with no explicit experiment to the project's experiment, creating it if needed."""

    def in_context(self) -> bool:
        """Active when the current directory is inside the project (or PROJECT_ROOT is set)."""
        return find_project_root() is not None

    def get_experiment_id(self) -> str:
        """The id of the project's experiment in the tracking store in use."""
        # Imported here: MLflow loads this module while it is itself being imported.
        from ..settings import load_settings
        from ..tracking.store import active_client, project_experiment_id

        return project_experiment_id(load_settings(), active_client())
