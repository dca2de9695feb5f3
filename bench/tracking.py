"""Benchmark buffered metric logging against a plain `mlflow.log_metric` loop, same sqlite store.

    .venv/bin/python bench/tracking.py [--project build/demo/tumor-classifier] [--points 2000]

Runs with the project's interpreter (re-executes itself with it). Both variants log the same points
into runs of one experiment in one temporary sqlite store, interleaved over --repeat rounds; the
buffered time includes its final flush. Goal: buffered >= 30x the plain loop's points/s.
"""

from __future__ import annotations

import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import package, project_parser, run_in_project


def main() -> None:
    """Time buffered and plain metric logging, interleaved; print the points/s of each."""
    parser = project_parser(__doc__)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    project = run_in_project(args.project)

    import mlflow
    from mlflow.tracking import MlflowClient

    tracking = importlib.import_module(f"{package(project).__name__}.tracking")
    with tempfile.TemporaryDirectory() as scratch:
        uri = f"sqlite:///{scratch}/mlflow.db"
        mlflow.set_tracking_uri(uri)
        experiment = mlflow.create_experiment("bench", artifact_location=Path(scratch).as_uri())
        client = MlflowClient(uri)
        plain, buffered = [], []
        for _ in range(args.repeat):
            with mlflow.start_run(experiment_id=experiment):
                start = time.perf_counter()
                for step in range(args.points):
                    mlflow.log_metric("loss", 1 / (step + 1), step=step)
                plain.append(time.perf_counter() - start)
            run = client.create_run(experiment)
            start = time.perf_counter()
            with tracking.BufferedMetricLogger(run.info.run_id, client) as metrics:
                for step in range(args.points):
                    metrics.log("loss", 1 / (step + 1), step=step)
            buffered.append(time.perf_counter() - start)
            count = len(client.get_metric_history(run.info.run_id, "loss"))
            assert count == args.points, f"buffered run stored {count} of {args.points} points"
    rows = [
        ("mlflow.log_metric loop", statistics.median(plain)),
        ("BufferedMetricLogger", statistics.median(buffered)),
    ]
    print(f"{args.points} points, median of {args.repeat} interleaved rounds, one sqlite store\n")
    print(f"{'variant':<26}{'points/s':>12}{'ms/point':>12}")
    for name, seconds in rows:
        print(f"{name:<26}{args.points / seconds:>12,.0f}{1000 * seconds / args.points:>12.3f}")
    print(f"\nbuffered / plain throughput: {rows[0][1] / rows[1][1]:.1f}x (goal >= 30x)")


if __name__ == "__main__":
    main()
