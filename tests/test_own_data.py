"""The generated docs/own-data.md walkthrough, followed literally, on the shipped messy CSV.

The classification bake of the end-to-end tests follows it here; the regression bake in test_regression.py.
Each test points its bake back at the shipped dataset when it is done, so the bake's other tests find it so.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import free_port, http, project_env, project_python, run_make

pytestmark = pytest.mark.slow

STORE_COUNTS = """
import json
from mlflow.tracking import MlflowClient
from {package}.settings import load_settings
s = load_settings()
client = MlflowClient(s.resolved_tracking_uri)
experiment = client.get_experiment_by_name(s.experiment_name)
print(json.dumps({{
    "runs": len(client.search_runs([experiment.experiment_id])),
    "versions": len(client.search_model_versions(f"name='{{s.model_name}}'")),
}}))
"""


def walkthrough(project: Path) -> list[str]:
    """The commands of the "Use your own data" page's block, comments stripped."""
    page = (project / "docs/own-data.md").read_text()
    section = page.split("# Use your own data", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    return [command for command in commands if command]


def feature_rows(path: Path, target: str) -> list[dict[str, str]]:
    """The rows of a CSV without the target column."""
    with path.open() as source:
        return [{k: v for k, v in row.items() if k != target} for row in csv.DictReader(source)]


def follow_walkthrough(project: Path, package: str, target: str, tmp_path: Path) -> None:
    """Run the walkthrough's steps; serve raw text columns; refuse the second file without touching anything."""
    prefix = package.upper() + "_"
    env = {f"{prefix}SERVE_PORT": str(free_port())}
    commands = walkthrough(project)
    assert len(commands) <= 5, commands
    for command in commands:
        completed = subprocess.run(
            ["bash", "-c", command],
            cwd=project,
            env={**project_env(), **env},
            capture_output=True,
            text=True,
        )
        assert (
            completed.returncode == 0
        ), f"{command}:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    source = next((project / "datasets").glob("*.csv"))
    assert source.with_name(source.stem + ".schema.yaml").is_file(), "the contract is written"

    url = f"http://127.0.0.1:{env[f'{prefix}SERVE_PORT']}"
    rows = feature_rows(source, target)
    records = [typed(row) for row in rows[:20]]
    assert any(value is None for row in records for value in row.values()), "missing values sent"
    status, answer = http(f"{url}/invocations", {"dataframe_records": records})
    assert status == 200, answer
    assert len(answer["predictions"]) == len(records)
    status, refused = http(
        f"{url}/invocations", {"dataframe_records": [{**records[0], "plan": "gold"}]}
    )
    assert (status, refused["field"]) == (400, "plan"), refused
    assert "breaks the data contract" in refused["error"]

    features = write_rows(tmp_path / "rows.csv", rows)
    predictions = tmp_path / "predictions.csv"
    run_make(project, "predict", f"INPUT={features}", f"OUTPUT={predictions}")
    assert len(predictions.read_text().splitlines()) == len(rows) + 1

    # The second version of the file has one bad line: ingest stops with the table; the store, the registry and
    # dvc.lock keep what they had (DVC removes a stage's outputs before running it: `dvc checkout` restores them).
    counts = project_python(project, STORE_COUNTS.format(package=package))
    lock = (project / "dvc.lock").read_bytes()
    shipped = project / "tests/data" / f"{source.stem}-v2.csv"
    shutil.copy(shipped, source)
    failed = run_make(project, "train", check=False)
    assert failed.returncode != 0
    assert f"{source.name} breaks its contract datasets/{source.stem}.schema.yaml" in failed.stderr
    bad_line = str(len(rows) + 2)
    assert f"{bad_line}: 'gold'" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert project_python(project, STORE_COUNTS.format(package=package)) == counts
    assert (project / "dvc.lock").read_bytes() == lock, "DVC recorded nothing of the broken file"
    run_make(project, "undeploy")


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    """A CSV with the rows' keys as its header: input for `make predict`."""
    with path.open("w", newline="") as sink:
        writer = csv.DictWriter(sink, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def typed(row: dict[str, str]) -> dict[str, object]:
    """A CSV row as JSON would carry it: numbers as numbers, empty cells as null."""

    def value(text: str) -> object:
        if text == "":
            return None
        try:
            return float(text)
        except ValueError:
            return text

    return {key: value(text) for key, text in row.items()}


def test_the_walkthrough_trains_and_serves_your_own_data(
    installed_project: Path, tmp_path: Path
) -> None:
    """Classification: the walkthrough's five steps, then raw categories served, the broken file refused."""
    follow_walkthrough(installed_project, "tumor_classifier", "churned", tmp_path)
    assert 'source: "datasets/churn.csv"' in (installed_project / "params.yaml").read_text()
    restore_shipped_data(installed_project, "churn")


def restore_shipped_data(project: Path, stem: str) -> None:
    """Point the project back at the shipped dataset, as the other tests of its bake expect it.

    The next `make train` (the other tests' fixtures run it) then registers a version on the shipped data.
    """
    subprocess.run(["git", "checkout", "--", "params.yaml"], cwd=project, check=True)
    for path in (project / "datasets").glob(f"{stem}*"):
        path.unlink()
