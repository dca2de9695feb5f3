"""What a search's run shows when it ends: the count of each trial state, the best trial, Optuna's plots.

The plots are Optuna's own (its matplotlib backend), logged as images: the optimisation history (each trial's
value, and the best so far) and the parameter importances (how much each parameter's value explains the
objective's, over the complete trials).
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from loguru import logger

from ..pipeline.params import Params

if TYPE_CHECKING:
    import optuna

    from ..tracking import TrackedRun

PLOTS = "tune"  # the run's artifact folder of the plots
MIN_FOR_IMPORTANCE = 2  # complete trials Optuna needs to weigh the parameters


def log_summary(run: TrackedRun, study: optuna.Study, params: Params) -> None:
    """Log the study's trial counts, its best trial and Optuna's plots into the run."""
    import optuna

    metric, _ = params.tuned_metric()
    states = Counter(trial.state.name for trial in study.get_trials(deepcopy=False))
    run.log_metrics({f"trials_{state.lower()}": count for state, count in states.items()})
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        logger.warning("study {}: no complete trial yet ({})", study.study_name, dict(states))
        return
    best = study.best_trial
    run.set_tags({"optuna.best_trial": str(best.number)})
    run.log_metrics({f"best_val_{metric}": float(best.value or 0.0)})
    run.log_params({f"best.{name}": value for name, value in best.params.items()})
    log_plots(study, len(complete))
    logger.success(
        "study {}: best trial {} ({} {:.4g}) of {}",
        study.study_name,
        best.number,
        metric,
        best.value,
        ", ".join(f"{count} {state}" for state, count in sorted(states.items())),
    )


def log_plots(study: optuna.Study, complete: int) -> None:
    """Optuna's optimisation history and (with enough trials) parameter importances, as PNG images."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow
    import optuna
    from optuna.visualization import matplotlib as plots

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter(
            "ignore", UserWarning
        )  # e.g. "importances will be equal" on few trials
        drawings: dict[str, Callable[[optuna.Study], Any]] = {
            "optimization_history": plots.plot_optimization_history
        }
        if complete >= MIN_FOR_IMPORTANCE:
            drawings["param_importances"] = plots.plot_param_importances
        for name, draw in drawings.items():
            try:
                axes = draw(study)
            except (ValueError, RuntimeError) as error:  # e.g. every trial gave the same value
                logger.warning("no {} plot: {}", name, error)
                continue
            figure = axes.figure
            mlflow.log_figure(figure, f"{PLOTS}/{name}.png")
            plt.close(figure)
