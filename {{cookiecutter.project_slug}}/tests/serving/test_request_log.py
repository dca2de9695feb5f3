"""Tests of the request log's destinations: a worker's file, or standard output (a container's)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.monitoring.requests import read_request_log
from {{ cookiecutter.package_name }}.serving.request_log import RequestLog, log_folder


def test_stdout_gets_one_json_line_per_row_and_no_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """To stdout, each logged row is a JSON line of its own, readable back; nothing goes to log_dir."""
    log = RequestLog(tmp_path, rate=1.0, rows=2, to="stdout")
    frame = pd.DataFrame({"x": [1.5, 2.5, 3.5], "plan": ["a", "b", "c"]})

    log.write(frame, [0, 1, 1], version="3", alias="champion")

    lines = capfd.readouterr().out.splitlines()
    assert [json.loads(line)["features"] for line in lines] == [
        {"x": 1.5, "plan": "a"},
        {"x": 2.5, "plan": "b"},
    ]
    assert json.loads(lines[0])["version"] == "3"
    assert not log_folder(tmp_path).exists()


def test_a_saved_container_log_is_read_between_other_output(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Records among the server's other lines, some behind a collector's prefix: read; the rest counted."""
    RequestLog(tmp_path, rate=1.0, rows=5, to="stdout").write(
        pd.DataFrame({"x": [1.0, 2.0]}), [0, 1], version="3", alias="champion"
    )
    first, second = capfd.readouterr().out.splitlines()
    saved = tmp_path / "pods.log"
    saved.write_text(
        "\n".join(
            [
                'INFO:     10.0.0.7:51234 - "POST /v2/models/{name}/infer HTTP/1.1" 200 OK',
                first,
                '{"level": "INFO", "message": "serving version 3"}',
                f"2026-12-02T06:00:00.123456789Z stdout F {second}",
                second[: len(second) // 2],  # a worker stopped mid-line
                "",
            ]
        )
    )

    log = read_request_log(saved)

    assert log.features["x"].tolist() == [1.0, 2.0]
    assert list(log.predictions) == [0, 1]
    assert (log.skipped, log.other_lines) == (1, 2)
    assert read_request_log(tmp_path / "no-such.log").predictions.empty
