"""Benchmark the run context plugin: the cost it adds to each `mlflow.start_run()`.

    .venv/bin/python bench/plugin.py [--project build/demo/tumor-classifier] [--runs 40]

Runs with the project's interpreter. The same process starts and ends runs in one sqlite store,
alternating between the project folder (plugin active) and a folder outside it (plugin inactive),
and also times the provider's `tags()` alone. Goal: <= 20 ms added per run start.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import package, project_parser, run_in_project


def main() -> None:
    """Time run starts with the plugin active and inactive, and `tags()` alone; print the medians."""
    parser = project_parser(__doc__)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    project = run_in_project(args.project)

    import mlflow

    name = package(project).__name__
    provider = importlib.import_module(f"{name}.mlflow_plugin.context").ProjectRunContextProvider()
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tracking_uri(f"sqlite:///{scratch}/mlflow.db")
        experiment = mlflow.create_experiment("bench", artifact_location=Path(scratch).as_uri())
        timings: dict[str, list[float]] = {"inside": [], "outside": [], "tags": []}
        for _ in range(args.runs):
            for where, folder in (("inside", project), ("outside", Path(scratch))):
                os.chdir(folder)
                start = time.perf_counter()
                with mlflow.start_run(experiment_id=experiment):
                    pass
                timings[where].append(time.perf_counter() - start)
            os.chdir(project)
            start = time.perf_counter()
            provider.tags()
            timings["tags"].append(time.perf_counter() - start)
    median = {key: 1000 * statistics.median(values) for key, values in timings.items()}
    print(f"median of {args.runs} runs each, one sqlite store\n")
    print(f"{'start_run + end_run inside the project':<44}{median['inside']:>8.1f} ms")
    print(f"{'start_run + end_run outside (plugin idle)':<44}{median['outside']:>8.1f} ms")
    print(f"{'ProjectRunContextProvider.tags() alone':<44}{median['tags']:>8.1f} ms")
    added = median["inside"] - median["outside"]
    print(f"\nadded per run start: {added:.1f} ms (goal <= 20 ms)")


if __name__ == "__main__":
    main()
