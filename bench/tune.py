"""Benchmark `make tune`: the same trials on 1 and 2 workers, and what Optuna and tracking add to a trial.

Usage (from the template repository, after `make demo` has baked and installed build/demo/tumor-classifier):

    .venv/bin/python bench/tune.py [--project build/demo/tumor-classifier] [--trials 16] [--repeat 3]

Every search gets the same `--trials` parameter sets, enqueued into a fresh study (its own journal file), with
pruning off, so each one does the same work whatever the number of workers. Measured side by side, alternating,
medians of `--repeat`:

- 1 vs 2 workers: the wall time of `run_search` (what `make tune` runs), 2 worker processes included their
  start-up. Goal: >= 1.6x on 2 cores.
- overhead: one worker's search (the study's storage, a nested MLflow run per trial with its curve, the summary
  and plots of the search's run) vs the bare objective on the same parameter sets, in a loop. Goal: <= 10%.
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


def searched(folder: Path, points: list[dict[str, Any]], workers: int, label: str) -> float:
    """Seconds of one search of the points, in a fresh study (its journal in `folder`)."""
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
    start = time.perf_counter()
    run_search(search, len(points), workers)
    return time.perf_counter() - start


def bare(points: list[dict[str, Any]]) -> float:
    """Seconds of the objective alone on the points: no Optuna study, no MLflow."""
    import optuna
    from tumor_classifier.pipeline.params import load_params
    from tumor_classifier.pipeline.prepare import read_splits
    from tumor_classifier.settings import load_settings
    from tumor_classifier.tuning.objective import Objective

    settings = load_settings()
    objective = Objective(load_params(settings.params_file), read_splits(settings.data_dir))
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
        times: dict[str, list[float]] = {"1 worker": [], "2 workers": [], "bare objective": []}
        for repeat in range(args.repeat):
            times["1 worker"].append(searched(Path(folder), points, 1, f"one-{repeat}"))
            times["2 workers"].append(searched(Path(folder), points, 2, f"two-{repeat}"))
            times["bare objective"].append(bare(points))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"{args.trials} trials, the same parameter sets in each search, medians of {args.repeat}:"
    )
    for name, value in median.items():
        print(f"  {name:<15} {value:6.2f} s  ({value / args.trials * 1000:.0f} ms per trial)")
    speedup = median["1 worker"] / median["2 workers"]
    overhead = median["1 worker"] / median["bare objective"] - 1
    per_trial = (median["1 worker"] - median["bare objective"]) / args.trials * 1000
    print(f"2 workers vs 1: {speedup:.2f}x (goal >= 1.6x)")
    print(
        f"Optuna + tracking vs the bare objective: +{overhead:.1%}, {per_trial:.0f} ms per trial (goal <= 10%)"
    )


if __name__ == "__main__":
    main()
