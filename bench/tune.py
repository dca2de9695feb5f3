"""Benchmark `make tune`: the same trials on 1 and 2 workers, and what Optuna and tracking add to a trial.

Usage (from the template repository, after `make demo` has baked and installed build/demo/tumor-classifier):

    .venv/bin/python bench/tune.py [--project build/demo/tumor-classifier] [--trials 16] [--repeat 3]

Every search gets the same `--trials` parameter sets, enqueued into a fresh study (its own journal file), with
pruning off, so each one does the same work whatever the number of workers. Measured side by side, alternating,
medians of `--repeat`:

- 1 vs 2 workers: the wall time of `run_search` (what `make tune` runs; the 2 worker processes with their
  start-up, one estimator thread each as `make tune` sets it), against 1 worker as `make tune` runs it (the
  estimator's default threads) and on 1 thread. Goal: >= 1.6x on 2 cores.
- overhead: the same parameter sets as trials of a study (its journal storage, a nested MLflow run per trial
  with its curve) and through the bare objective, both in this process on 1 thread, interleaved a few trials
  at a time so that the machine's drift falls on both. Goal: <= 10% per trial.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import package, project_parser, run_in_project


def parameter_sets(count: int) -> list[dict[str, Any]]:
    """`count` fixed points of the shipped search space (drawn once by a seeded random sampler)."""
    import optuna
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tuning.objective import suggest

    params = load_params(load_settings().params_file)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=7))
    points = []
    for _ in range(count):
        trial = study.ask()
        points.append(suggest(trial, params))
        study.tell(trial, 0.0)
    return points


def searched(
    folder: Path, points: list[dict[str, Any]], workers: int, label: str, threads: int | None = None
) -> float:
    """Seconds of one search of the points in a fresh study (its journal in `folder`): what make tune runs."""
    from threadpoolctl import threadpool_limits
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tuning.search import Search, run_search

    os.environ["TUMOR_CLASSIFIER_TUNE_STORAGE"] = str(
        folder / f"{label}.log"
    )  # the workers read it too
    settings = load_settings()
    search = Search.of(settings, load_params(settings.params_file))
    study = search.study()
    for point in points:
        study.enqueue_trial(point)
    with threadpool_limits(threads):
        start = time.perf_counter()
        run_search(search, len(points), workers)
        return time.perf_counter() - start


def overhead(folder: Path, points: list[dict[str, Any]], chunk: int = 2) -> tuple[float, float]:
    """Seconds of the points as tracked trials of one study, and through the bare objective, interleaved."""
    import optuna
    from threadpoolctl import threadpool_limits
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.pipeline.prepare import read_splits
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tracking import tracked_run
    from tumor_classifier.tuning.objective import Objective
    from tumor_classifier.tuning.search import Search
    from tumor_classifier.tuning.trials import tracked_objective

    os.environ["TUMOR_CLASSIFIER_TUNE_STORAGE"] = str(folder / "overhead.log")
    settings = load_settings()
    search = Search.of(settings, load_params(settings.params_file))
    study = search.study()
    objective = Objective(search.params, read_splits(settings.data_dir))
    tracked, plain = 0.0, 0.0
    with tracked_run("bench-trials", experiment_id=search.experiment_id) as run:
        trial = tracked_objective(objective, search.name, run.run_id, search.experiment_id)
        with threadpool_limits(1):
            for first in range(0, len(points), chunk):
                some = points[first : first + chunk]
                for point in some:
                    study.enqueue_trial(point)
                start = time.perf_counter()
                study.optimize(trial, n_trials=len(some))
                middle = time.perf_counter()
                for point in some:
                    objective(optuna.trial.FixedTrial(point))
                tracked, plain = tracked + middle - start, plain + time.perf_counter() - middle
    return tracked, plain


def main() -> None:
    """Measure, alternating, and print the medians and their ratios."""
    parser = project_parser(__doc__)
    parser.add_argument(
        "--trials", type=int, default=40
    )  # the README's make tune TRIALS=40 WORKERS=2
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    project = run_in_project(args.project)
    os.chdir(project)
    package(project)
    with tempfile.TemporaryDirectory() as folder:
        shipped = (project / "params.yaml").read_text()
        unpruned = (
            Path(folder) / "params.yaml"
        )  # the same work in every search: no trial stops early
        unpruned.write_text(shipped.replace("  pruner: median", "  pruner: none"))
        os.environ["TUMOR_CLASSIFIER_PARAMS_FILE"] = str(unpruned)
        os.environ["TUMOR_CLASSIFIER_LOG_LEVEL"] = "WARNING"
        points = parameter_sets(args.trials)
        times: dict[str, list[float]] = {"1 worker": [], "1 worker, 1 thread": [], "2 workers": []}
        for repeat in range(args.repeat):
            times["1 worker"].append(searched(Path(folder), points, 1, f"one-{repeat}"))
            alone = searched(Path(folder), points, 1, f"thread-{repeat}", threads=1)
            times["1 worker, 1 thread"].append(alone)
            times["2 workers"].append(searched(Path(folder), points, 2, f"two-{repeat}"))
        tracked, plain = overhead(Path(folder), points)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{args.trials} trials, the same parameter sets in each search, medians of {args.repeat}:"
    )
    for name, value in median.items():
        print(f"  {name:<18} {value:6.2f} s  ({value / args.trials * 1000:.0f} ms per trial)")
    two = median["2 workers"]
    print(
        f"2 workers vs 1: {median['1 worker'] / two:.2f}x as make tune runs them; "
        f"{median['1 worker, 1 thread'] / two:.2f}x vs 1 worker on 1 thread (goal >= 1.6x)"
    )
    extra = tracked - plain
    print(
        f"Optuna + tracking per trial vs the bare objective (1 thread, interleaved): "
        f"+{extra / plain:.1%}, {extra / args.trials * 1000:.0f} ms per trial "
        f"({tracked:.2f} s vs {plain:.2f} s; goal <= 10%)"
    )


if __name__ == "__main__":
    main()
