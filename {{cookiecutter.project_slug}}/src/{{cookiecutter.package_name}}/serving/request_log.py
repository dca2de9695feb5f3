"""A sampled log of what the server scored: the features and predictions that `make monitor` checks for drift.

Each worker writes JSON lines to its own file (`<log_dir>/requests/<pid>.jsonl`, rotated by size), one line
per logged row: `{"time", "version", "alias", "features": {...}, "prediction"}`. A share of the requests
is logged (SERVE_REQUEST_LOG_RATE), at most SERVE_REQUEST_LOG_ROWS rows of each: the cost stays a few
percent of throughput (bench/serve.py measures it). In a container (SERVE_REQUEST_LOG=stdout, the image's
default) the same lines go to standard output, where a cluster collects logs, between the server's other
output: the reader skips (and counts) every line that is not a record.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Literal

import pandas as pd

LOG_FILE = re.compile(r"\.jsonl(\.\d+)?$")  # a worker's log and its rotated copies
ROTATE_BYTES = 20_000_000
ROTATED_FILES = 5  # per worker: at most 120 MB of log each
Destination = Literal["file", "stdout"]


def log_folder(log_dir: Path) -> Path:
    """Where the request log of a project's server is."""
    return log_dir / "requests"


class RequestLog:
    """Samples scored requests into a rotated JSON-lines file of this process."""

    def __init__(self, log_dir: Path, rate: float, rows: int, to: Destination = "file") -> None:
        self.rate = rate
        self.rows = rows
        self.folder = log_folder(log_dir)
        self.to = to
        self._writer: logging.Logger | None = None

    def sample(self) -> bool:
        """Whether to log the request at hand."""
        return self.rate > 0 and random.random() < self.rate

    def write(self, frame: pd.DataFrame, predictions: list[Any], version: str, alias: str) -> None:
        """Log the first rows of a scored batch, with what was predicted for each, in one write."""
        head = frame.head(self.rows)
        rows = head.to_json(orient="records", lines=True, date_format="iso").splitlines()
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        start = json.dumps({"time": now, "version": version, "alias": alias})[
            :-1
        ]  # without its "}"
        lines = [
            start + ', "features": ' + row + ', "prediction": ' + json.dumps(prediction) + "}"
            for row, prediction in zip(rows, predictions, strict=False)
        ]
        if self.to == "stdout":
            _print_lines(lines)
        else:
            self._open().info("\n".join(lines))

    def _open(self) -> logging.Logger:
        """This process's file (the pid is in the name: the workers never write the same file)."""
        if self._writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(
                self.folder / f"{os.getpid()}.jsonl",
                maxBytes=ROTATE_BYTES,
                backupCount=ROTATED_FILES,
                encoding="utf-8",
            )
            handler.setFormatter(logging.Formatter("%(message)s"))
            writer = logging.getLogger(f"{__name__}.{os.getpid()}.{id(self)}")
            writer.handlers = [handler]
            writer.setLevel(logging.INFO)
            writer.propagate = False
            self._writer = writer
        return self._writer


def _print_lines(lines: list[str]) -> None:
    """Each line to standard output in one write of its own: the workers share it, lines never mix.

    A write to a pipe of at most PIPE_BUF bytes (4 KiB on Linux) is atomic; a longer record may be cut by
    another worker's line, and is then counted as cut short by the reader.
    """
    sys.stdout.flush()  # what print() buffered goes first
    for line in lines:
        os.write(sys.stdout.fileno(), (line + "\n").encode())


# The reading side of the same format (monitoring reads it): one module owns what a line holds.
def log_files(folder: Path) -> list[Path]:
    """The server workers' request logs in the folder and their rotated copies; a file is its own log."""
    if folder.is_file():  # a container's saved standard output (make monitor LOG=...)
        return [folder]
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if LOG_FILE.search(path.name))


def records(path: Path) -> Iterator[dict[str, Any] | str | None]:
    """Each line's record; None for a record cut short; OTHER for a line of other output (stdout's)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if line.strip():
                    yield _record(line)
    except FileNotFoundError:
        return  # rotated away since the folder was listed: its rows are in the next copy


OTHER = "other output"  # what `records` yields for a line that is no request record at all


def _record(line: str) -> dict[str, Any] | str | None:
    """A line's record, after any prefix a log collector added (`kubectl logs --timestamps`, CRI's).

    A line that does not parse is a record cut short when it begins like one, else other output.
    """
    start = line.find("{")
    if start < 0:
        return OTHER
    try:
        record = json.loads(line[start:])
    except json.JSONDecodeError:
        return None if line[start:].startswith('{"time"') else OTHER
    if not isinstance(record, dict):
        return OTHER
    if isinstance(record.get("features"), dict) and "prediction" in record:
        return record
    return None if "features" in record else OTHER
