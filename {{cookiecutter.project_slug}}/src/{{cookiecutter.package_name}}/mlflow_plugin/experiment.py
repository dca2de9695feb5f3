"""Default experiment provider: runs started in the project without an experiment go to the project's."""

from __future__ import annotations

from ..project import find_project_root
from . import warn

DEFAULT_EXPERIMENT_ID = "0"  # MLflow's "Default" experiment, where runs go without a provider


class ProjectExperimentProvider:
    """Sends runs with no explicit experiment to the project's experiment, creating it if needed."""

    def in_context(self) -> bool:
        """Active when the current directory is inside the project (or PROJECT_ROOT is set)."""
        return find_project_root() is not None

    def get_experiment_id(self) -> str:
        """The id of the project's experiment in the tracking store in use, else MLflow's default.

        Never raises into MLflow: a typo in `.env` must cost one warning, not every `start_run()`.
        """
        try:
            # Imported here: MLflow loads this module while it is itself being imported.
            from ..settings import load_settings
            from ..tracking.store import active_client, project_experiment_id

            return project_experiment_id(load_settings(), active_client())
        except Exception as error:
            warn(f"this run goes to MLflow's default experiment, not the project's: {error}")
            return DEFAULT_EXPERIMENT_ID
