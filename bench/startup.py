"""Benchmark start-up costs: baking the template, and the project's CLI against a bare interpreter.

    .venv/bin/python bench/startup.py [--project build/demo/tumor-classifier] [--repeat 5]

Measured side by side, interleaved, medians: `cookiecutter --no-input` (no git), `python -c pass`,
`<slug> --version` (imports the CLI) and `<slug> info` (builds settings, configures logging).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _project import QUIET_ENV, REPO, installed_project, project_parser, timed


def main() -> None:
    """Time the bake, a bare interpreter and the CLI, interleaved; print the medians."""
    parser = project_parser(__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    project = installed_project(args.project)
    env = {**os.environ, **QUIET_ENV}
    venv = project / ".venv/bin"
    commands = {
        "bake (cookiecutter --no-input)": None,
        "python -c pass": [str(venv / "python"), "-c", "pass"],
        f"{project.name} --version": [str(venv / project.name), "--version"],
        f"{project.name} info": [str(venv / project.name), "info"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    cookiecutter = str(Path(sys.executable).parent / "cookiecutter")
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.repeat):
            for name, command in commands.items():
                if command is None:
                    out = Path(scratch) / str(round_)
                    bake = [cookiecutter, str(REPO), "--no-input", "-o", str(out), "init_git=no"]
                    samples[name].append(timed(bake, REPO, env))
                else:
                    samples[name].append(timed(command, project, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    bare = medians["python -c pass"]
    print(f"{'command':<36}{'median ms':>10}{'x bare':>8}")
    for name, seconds in medians.items():
        print(f"{name:<36}{1000 * seconds:>10.0f}{seconds / bare:>8.1f}")


if __name__ == "__main__":
    main()
