"""Benchmark `make train`: cold, warm and no-op, against untracked and bare-DVC baselines.

Usage (from the template repository, after `make demo` has baked and installed build/demo/tumor-classifier):

    .venv/bin/python bench/train.py [--project build/demo/tumor-classifier] [--repeat 3]

It copies the project (without its .venv, which is linked) to a temporary folder and measures,
interleaved and repeated, reporting medians:

- cold:     `make train` on a project with no DVC outputs and no MLflow store
- warm:     `make train` after `dvc repro --force`-equivalent invalidation (outputs removed, store kept)
- untracked: the same pipeline functions (ingest, prepare, fit, metrics, plot data) in one process, no MLflow
- no-op:    `make train` when nothing changed, vs a bare `dvc repro` no-op
Goals: warm <= 2.5x untracked; no-op <= 1.5x bare dvc no-op.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import QUIET_ENV, installed_project, project_parser, timed

UNTRACKED = """
from PACKAGE.settings import load_settings
from PACKAGE.pipeline import ingest, prepare, train, evaluate
from PACKAGE.pipeline.params import load_params
settings = load_settings()
params = load_params(settings.params_file)
ingest.run(settings, params)
splits = prepare.run(settings, params)
x, y = train.features_and_target(splits.train, params.data.target)
xv, yv = train.features_and_target(splits.val, params.data.target)
xt, yt = train.features_and_target(splits.test, params.data.target)
model = train.fit_model(x, y, params.task, params.model, params.seed)
list(train.staged_scores(model, xv, yv, params.task))
evaluate.model_metrics(model, xt, yt, params.task)
evaluate.evaluation_plots(model, xt, yt, params.task)
"""


def reset(project: Path, keep_store: bool) -> None:
    for name in ("data", "models", "dvc.lock", "metrics.json", "reports", ".dvc/cache", ".dvc/tmp"):
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if not keep_store:
        shutil.rmtree(project / ".mlflow", ignore_errors=True)


def main() -> None:
    parser = project_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    source = installed_project(args.project)
    env = {**os.environ, **QUIET_ENV}
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = f"{source / '.venv/bin'}{os.pathsep}{env['PATH']}"
    with tempfile.TemporaryDirectory() as scratch:
        project = Path(scratch) / source.name
        shutil.copytree(source, project, symlinks=True, ignore=shutil.ignore_patterns(".venv"))
        (project / ".venv").symlink_to(source / ".venv")
        reset(project, keep_store=False)
        python = str(source / ".venv/bin/python")
        (name,) = [p.name for p in (source / "src").iterdir() if (p / "__init__.py").exists()]
        untracked = UNTRACKED.replace("PACKAGE", name)
        samples: dict[str, list[float]] = {
            k: [] for k in ("cold", "warm", "untracked", "noop", "dvc")
        }
        for _ in range(args.repeat):
            reset(project, keep_store=False)
            samples["cold"].append(timed(["make", "train"], project, env))
            timed(
                ["dvc", "repro"], project, env
            )  # untimed: DVC's first no-op after a run warms caches
            samples["noop"].append(timed(["make", "train"], project, env))
            samples["dvc"].append(timed(["dvc", "repro"], project, env))
            reset(project, keep_store=True)
            samples["warm"].append(timed(["make", "train"], project, env))
            samples["untracked"].append(timed([python, "-c", untracked], project, env))
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'measurement':<34}{'median s':>10}")
    rows = [
        ("make train, cold (new store)", "cold"),
        ("make train, warm (store kept)", "warm"),
        ("same functions, no MLflow/DVC", "untracked"),
        ("make train, no-op", "noop"),
        ("bare dvc repro, no-op", "dvc"),
    ]
    for label, key in rows:
        print(f"{label:<34}{median[key]:>10.2f}")
    print(
        f"\nwarm tracked / untracked : {median['warm'] / median['untracked']:.2f}x (goal <= 2.5x)"
    )
    print(f"cold tracked / untracked : {median['cold'] / median['untracked']:.2f}x")
    print(f"no-op make / bare dvc    : {median['noop'] / median['dvc']:.2f}x (goal <= 1.5x)")


if __name__ == "__main__":
    main()
