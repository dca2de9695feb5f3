"""`make tune-apply`: the best trial's parameters into params.yaml's `model:` block, comments kept.

DVC then sees the changed `model` params and `make train` re-runs the train stage with them: the run is tracked,
registered and gated as any other.
"""

from __future__ import annotations

from typing import Any

from ..pipeline.params_file import set_values
from ..settings import Settings
from . import TuneError
from .search import Search, best_values
from .storage import open_storage, shown_location


def apply_best(settings: Settings, search: Search) -> list[tuple[str, Any, Any]]:
    """Write the best complete trial's values; return (parameter, before, after) for each one changed."""
    import optuna

    try:
        study = optuna.load_study(study_name=search.name, storage=open_storage(settings))
    except KeyError:
        raise TuneError(
            f"no study {search.name} in {shown_location(settings)}: run make tune first (a changed dataset "
            "or search space starts a new study)"
        ) from None
    best = best_values(study)
    current = search.params.model.model_dump()
    changes = [
        (name, current[name], value) for name, value in best.items() if current[name] != value
    ]
    if changes:
        set_values(settings.params_file, "model", {name: after for name, _, after in changes})
    return changes
