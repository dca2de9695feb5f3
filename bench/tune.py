"""Benchmark `make tune`: the same trials on 1 and 2 workers, and what Optuna and tracking add to a trial.

Usage (from the template repository, after `make demo` has baked and installed build/demo/tumor-classifier):

    .venv/bin/python bench/tune.py [--project build/demo/tumor-classifier] [--trials 16] [--repeat 3]

Every search gets the same `--trials` parameter sets, enqueued into a fresh study (its own journal file), with
pruning off, so each one does the same work whatever the number of workers. Measured side by side, alternating,
medians of `--repeat`:

- 1 vs 2 workers: the wall time of `run_search` (what `make tune` runs; the 2 worker processes with their
  start-up, one estimator thread each as `make tune` sets it), against 1 worker as `make tune` runs it (the
  estimator's default threads) and on 1 thread. Goal: >= 1.6x on 2 cores.
- overhead: one worker's search on 1 thread (the study's storage, a nested MLflow run per trial with its curve),
  minus its summary (counts, best trial, plots: timed apart, once per search), vs the bare objective on the
  same parameter sets, in a loop on 1 thread. Goal: <= 10% per trial.
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
) -> tuple[float, float]:
    """Seconds of one search of the points in a fresh study (its journal in `folder`), and of its summary."""
    from threadpoolctl import threadpool_limits
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tracking import tracked_run
    from tumor_classifier.tuning.search import Search, run_search
    from tumor_classifier.tuning.summary import log_summary

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
        searching = time.perf_counter() - start
    with tracked_run("bench-summary", experiment_id=search.experiment_id) as run:
        start = time.perf_counter()
        log_summary(run, search.study(), search.params)  # what the search's run did once at its end
        summary = time.perf_counter() - start
    return searching, summary


def bare(points: list[dict[str, Any]]) -> float:
    """Seconds of the objective alone on the points, on 1 thread: no Optuna study, no MLflow."""
    import optuna
    from threadpoolctl import threadpool_limits
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.pipeline.prepare import read_splits
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tuning.objective import Objective

    settings = load_settings()
    objective = Objective(load_params(settings.params_file), read_splits(settings.data_dir))
    with threadpool_limits(1):
        start = time.perf_counter()
        for point in points:
            objective(optuna.trial.FixedTrial(point))
        return time.perf_counter() - start


def main() -> None:
    """Measure, alternating, and print the medians and their ratios."""
    parser = project_parser(__doc__)
    parser.add_argument("--trials", type=int, default=16)
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
        times: dict[str, list[float]] = {
            "1 worker": [],
            "1 worker, 1 thread": [],
            "2 workers": [],
            "bare, 1 thread": [],
            "summary": [],
        }
        for repeat in range(args.repeat):
            times["1 worker"].append(searched(Path(folder), points, 1, f"one-{repeat}")[0])
            alone, summary = searched(Path(folder), points, 1, f"thread-{repeat}", threads=1)
            times["1 worker, 1 thread"].append(alone)
            times["summary"].append(summary)
            times["2 workers"].append(searched(Path(folder), points, 2, f"two-{repeat}")[0])
            times["bare, 1 thread"].append(bare(points))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{args.trials} trials, the same parameter sets in each search, medians of {args.repeat}:"
    )
    for name, value in median.items():
        print(f"  {name:<15} {value:6.2f} s  ({value / args.trials * 1000:.0f} ms per trial)")
    two = median["2 workers"]
    print(
        f"2 workers vs 1: {median['1 worker'] / two:.2f}x as make tune runs them; "
        f"{median['1 worker, 1 thread'] / two:.2f}x vs 1 worker on 1 thread (goal >= 1.6x)"
    )
    extra = median["1 worker, 1 thread"] - median["summary"] - median["bare, 1 thread"]
    print(
        f"Optuna + tracking per trial vs the bare objective (1 thread): +{extra / median['bare, 1 thread']:.1%}, "
        f"{extra / args.trials * 1000:.0f} ms per trial (goal <= 10%); plus {median['summary']:.2f} s once "
        "per search for its summary and plots"
    )


if __name__ == "__main__":
    main()
