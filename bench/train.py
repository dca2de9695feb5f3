"""Benchmark `make train`: cold, warm and no-op, against untracked and bare-DVC baselines.

Usage (from the template repository, after `make demo` has baked and installed build/demo/tumor-classifier):

    .venv/bin/python bench/train.py [--project build/demo/tumor-classifier] [--repeat 3]

It copies the project (without its .venv, which is linked) to a temporary folder and measures,
interleaved and repeated, reporting medians:

- cold:      `make train` on a project with no DVC outputs and no MLflow store
- warm:      `make train` after `dvc repro --force`-equivalent invalidation (outputs removed, store kept)
- untracked, a process per stage: the same pipeline functions, without MLflow or DVC, one Python
  process per stage as DVC runs them (the model passed on with joblib)
- untracked, one process: the same functions in a single process (no per-stage imports at all)
- no-op:     `make train` when nothing changed, vs a bare `dvc repro` no-op
Goals: warm <= 2.5x untracked (a process per stage: what MLflow tracking and DVC add); no-op <= 1.5x bare
dvc no-op. The one-process ratio is printed too: it adds what running four stage processes costs.

Then what bringing your own data adds (goal: <= 10% of the warm `make train` on the shipped dataset):

- the data contract: a process that reads the shipped dataset and checks its contract (pandera), vs one that
  only reads it; the difference is what every ingest pays
- the encoding step, built only for text columns (the shipped dataset has none): on the README's example CSV,
  fitting the model with it vs fitting the same estimator on the columns encoded beforehand
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import QUIET_ENV, installed_project, project_parser, timed

SETUP = """
from PACKAGE.settings import load_settings
from PACKAGE.pipeline.params import load_params
settings = load_settings()
params = load_params(settings.params_file)
"""
# The four stages without MLflow: what each DVC stage process imports and computes, the model kept with joblib.
STAGES = {
    "ingest": """
from PACKAGE.pipeline import ingest
ingest.run(settings, params)
""",
    "prepare": """
from PACKAGE.pipeline import prepare
prepare.run(settings, params)
""",
    "train": """
import joblib
from PACKAGE.pipeline import plots, prepare, train
from PACKAGE.pipeline.metrics import model_metrics, score_test_split
from PACKAGE.pipeline.model import fit_model
splits = prepare.read_splits(settings.data_dir)
x, y = prepare.features_and_target(splits.train, params.data.target)
xv, yv = prepare.features_and_target(splits.val, params.data.target)
xt, yt = prepare.features_and_target(splits.test, params.data.target)
model = fit_model(x, y, params.task, params.model, params.seed)
list(train.staged_scores(model, xv, yv))
model_metrics(model, xv, yv, params.task)
score_test_split(model, splits.test, params)
plots.evaluation_plots(model, xt, yt, params.task)
settings.models_dir.mkdir(exist_ok=True)
joblib.dump(model, settings.models_dir / "untracked.joblib")
""",
    "evaluate": """
import joblib
from PACKAGE.pipeline import plots, prepare
from PACKAGE.pipeline.metrics import score_test_split
model = joblib.load(settings.models_dir / "untracked.joblib")
test = prepare.read_splits(settings.data_dir).test
score_test_split(model, test, params)
xt, yt = prepare.features_and_target(test, params.data.target)
for name, data in plots.evaluation_plots(model, xt, yt, params.task).items():
    data.to_csv(settings.models_dir / f"untracked-{name}.csv", index=False)
""",
}


READ_ONLY = """
from PACKAGE.pipeline.ingest import read_source
read_source(params.data, settings.project_root)
"""
READ_AND_CHECK = """
from PACKAGE.pipeline.contract import contract_path, enforce
from PACKAGE.pipeline.ingest import dataset_of, read_source
frame = read_source(params.data, settings.project_root)
enforce(frame, contract_path(dataset_of(params.data, settings.project_root)), params.data.source)
"""
ENCODING = """
import glob, statistics, time
import pandas as pd
from sklearn.preprocessing import OrdinalEncoder
from PACKAGE.pipeline.model import build_model, categorical_columns, fit_model
from PACKAGE.pipeline.prepare import features_and_target
path = [p for p in glob.glob("tests/data/*.csv") if not p.endswith("-v2.csv")][0]
frame = pd.read_csv(path)
target = frame.columns[-1]
x, y = features_and_target(frame, target)
text = categorical_columns(x)
encoded = x.copy()
encoded[text] = OrdinalEncoder(encoded_missing_value=float("nan")).fit_transform(x[text])
def clock(fit):
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter(); fit(); runs.append(time.perf_counter() - start)
    return statistics.median(runs)
bare = build_model(params.task, params.model, params.seed, text)[-1]
print(clock(lambda: fit_model(x, y, params.task, params.model, params.seed)),
      clock(lambda: bare.fit(encoded, y)))
"""


# The copy shares the demo's .venv (a link), whose install marker names the demo's folder: `-o` tells make the
# install is done, so only the pipeline is timed.
MAKE_TRAIN = ["make", "-o", ".venv/.runtime", "train"]


def untracked_per_stage(python: str, package: str, project: Path, env: dict[str, str]) -> float:
    """Seconds for the four stage processes, run one after the other."""
    return sum(
        timed([python, "-c", (SETUP + code).replace("PACKAGE", package)], project, env)
        for code in STAGES.values()
    )


def reset(project: Path, keep_store: bool) -> None:
    """Remove the pipeline's outputs (and the MLflow store unless `keep_store`), as before a first run."""
    for name in ("data", "models", "dvc.lock", "metrics.json", "reports", ".dvc/cache", ".dvc/tmp"):
        path = project / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    if not keep_store:
        shutil.rmtree(project / ".mlflow", ignore_errors=True)


def main() -> None:
    """Time `make train` and its baselines on a copy of the project; print the medians and ratios."""
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
        one_process = (SETUP + "\n".join(STAGES.values())).replace("PACKAGE", name)
        samples: dict[str, list[float]] = {
            k: [] for k in ("cold", "warm", "stages", "untracked", "noop", "dvc")
        }
        for _ in range(args.repeat):
            reset(project, keep_store=False)
            samples["cold"].append(timed(MAKE_TRAIN, project, env))
            timed(
                ["dvc", "repro"], project, env
            )  # untimed: DVC's first no-op after a run warms caches
            samples["noop"].append(timed(MAKE_TRAIN, project, env))
            samples["dvc"].append(timed(["dvc", "repro"], project, env))
            reset(project, keep_store=True)
            samples["warm"].append(timed(MAKE_TRAIN, project, env))
            samples["stages"].append(untracked_per_stage(python, name, project, env))
            samples["untracked"].append(timed([python, "-c", one_process], project, env))
        own: dict[str, list[float]] = {"read": [], "check": []}
        for _ in range(args.repeat):
            for key, code in (("read", READ_ONLY), ("check", READ_AND_CHECK)):
                own[key].append(
                    timed([python, "-c", (SETUP + code).replace("PACKAGE", name)], project, env)
                )
        encoding = subprocess.run(
            [python, "-c", (SETUP + ENCODING).replace("PACKAGE", name).replace("REPEAT", "7")],
            cwd=project, env=env, capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
    median = {name: statistics.median(values) for name, values in samples.items()}
    print(f"{'measurement':<34}{'median s':>10}")
    rows = [
        ("make train, cold (new store)", "cold"),
        ("make train, warm (store kept)", "warm"),
        ("untracked, a process per stage", "stages"),
        ("untracked, one process", "untracked"),
        ("make train, no-op", "noop"),
        ("bare dvc repro, no-op", "dvc"),
    ]
    for label, key in rows:
        print(f"{label:<34}{median[key]:>10.2f}")
    ratios = [
        ("warm / untracked per stage", median["warm"] / median["stages"], "(goal <= 2.5x)"),
        ("warm / untracked one process", median["warm"] / median["untracked"], ""),
        ("cold / untracked per stage", median["cold"] / median["stages"], ""),
        ("no-op make / bare dvc", median["noop"] / median["dvc"], "(goal <= 1.5x)"),
    ]
    print()
    for label, ratio, goal in ratios:
        print(f"{label:<30}{ratio:>6.2f}x {goal}")

    contract = statistics.median(own["check"]) - statistics.median(own["read"])
    with_step, without = (float(value) for value in encoding)
    print("\nyour own data (goal: <= 10% of warm make train on the shipped dataset)")
    print(
        f"{'data contract check, per ingest':<42}{contract:>7.2f} s  = {contract / median['warm']:>5.1%} of warm"
    )
    print(f"{'encoding step, shipped dataset':<42}{'not built (numbers only): 0%':>22}")
    print(
        f"{'encoding step, example CSV: fit with/without':<42}{with_step / without:>7.2f}x ({with_step * 1000:.0f} vs {without * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
