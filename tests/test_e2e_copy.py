"""End-to-end: a project copied to another folder still deploys, predicts and shows its runs (slow)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port, project_env, project_python, run_make, wait_for
from tests.e2e import CHROMIUM

pytestmark = pytest.mark.slow

EVERY_VERSION_LOADS = """
import json
from tumor_classifier.model.load import load_model
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import connect
s = load_settings()
versions = connect(s).search_model_versions(f"name='{s.model_name}'")
loaded = [load_model(s, alias=None, version=str(v.version)) for v in versions]
print(json.dumps(sorted(len(m.predict(m.input_example)) for m in loaded)))
"""

STORE_RUN_ID = """
import json
from tumor_classifier.settings import load_settings
from tumor_classifier.tracking.store import connect
s = load_settings()
client = connect(s)
exp = client.get_experiment_by_name(s.experiment_name)
run = client.search_runs([exp.experiment_id], "attributes.run_name = 'train'")[-1]
print(json.dumps(run.info.run_id))
"""


def test_a_copied_project_works_from_its_new_folder(
    installed_project: Path, undeployed_champion: str, tmp_path: Path
) -> None:
    """Copied elsewhere, with the original's artifacts gone, the project still works.

    It deploys, predicts, loads every version and shows its runs and artifacts in `make ui`, opening on
    the runs table (real Chromium).
    """
    copy = tmp_path / "restored" / installed_project.name
    shutil.copytree(installed_project, copy, symlinks=True)
    artifacts = installed_project / ".mlflow" / "artifacts"
    artifacts.rename(artifacts.with_name("artifacts.away"))
    env = {"TUMOR_CLASSIFIER_SERVE_PORT": str(free_port())}
    ui: subprocess.Popen[str] | None = None
    try:
        # The champion by number: the newest versions may come from DVC experiments, whose learning rates
        # the gate may rightly refuse.
        champion = undeployed_champion
        deployed = run_make(copy, "deploy", f"VERSION={champion}", env=env)
        assert "rebuilding .venv" in deployed.stdout, "the copied venv names the old folder"
        assert f"smoke prediction (champion {champion}): [" in deployed.stdout
        rows, out = tmp_path / "rows.csv", tmp_path / "preds.csv"
        test = (copy / "data/prepared/test.csv").read_text().splitlines()
        target = test[0].split(",").index("target")
        rows.write_text(
            "\n".join(",".join(v for i, v in enumerate(r.split(",")) if i != target) for r in test)
        )
        run_make(copy, "predict", f"INPUT={rows}", f"OUTPUT={out}")
        assert len(out.read_text().splitlines()) == len(test)
        assert all(count == 5 for count in project_python(copy, EVERY_VERSION_LOADS))

        port = free_port()
        ui = subprocess.Popen(
            [copy / ".venv/bin/tumor-classifier", "ui", "--port", str(port)],
            cwd=copy,
            env=project_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert ui.stdout is not None
        url = re.search(r"http://\S+", ui.stdout.readline())
        assert url is not None, "make ui prints where the UI opens"
        assert "workflowType=machine_learning" in url.group(0)
        wait_for(f"http://127.0.0.1:{port}/health")
        run_id = project_python(copy, STORE_RUN_ID)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/get-artifact?path=plots/confusion.png&run_uuid={run_id}"
        ) as response:
            assert response.read(8) == b"\x89PNG\r\n\x1a\n", "the UI serves the copy's artifacts"
        page = subprocess.run(
            [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url.group(0)],
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        subprocess.run(
            [*CHROMIUM, f"--user-data-dir={tmp_path / 'chromium'}",
             f"--screenshot={tmp_path / 'ui.png'}", url.group(0)],
            capture_output=True, timeout=120,
        )  # fmt: skip
        assert "Training runs" not in page, "not the GenAI overview"
        assert ">Runs<" in page, "the runs table"
        assert ">train<" in page, "the training run is listed"
        assert (tmp_path / "ui.png").stat().st_size > 10_000
    finally:
        if ui is not None:
            os.killpg(ui.pid, signal.SIGTERM)
            ui.wait(timeout=30)
        run_make(copy, "undeploy", env=env, check=False)
        artifacts.with_name("artifacts.away").rename(artifacts)
