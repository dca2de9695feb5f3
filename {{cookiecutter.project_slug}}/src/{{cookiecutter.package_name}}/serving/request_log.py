"""A sampled log of what the server scored: the features and predictions that `make monitor` checks for drift.

Each worker writes JSON lines to its own file (`<log_dir>/requests/<pid>.jsonl`, rotated by size), one line
per logged row: `{"time", "version", "alias", "features": {...}, "prediction"}`. A share of the requests
is logged (SERVE_REQUEST_LOG_RATE), at most SERVE_REQUEST_LOG_ROWS rows of each: the cost stays a few
percent of throughput (bench/serve.py measures it).
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

import pandas as pd

LOG_FILE = re.compile(r"\.jsonl(\.\d+)?$")  # a worker's log and its rotated copies
ROTATE_BYTES = 20_000_000
ROTATED_FILES = 5  # per worker: at most 120 MB of log each


def log_folder(log_dir: Path) -> Path:
    """Where the request log of a project's server is."""
    return log_dir / "requests"


class RequestLog:
    """Samples scored requests into a rotated JSON-lines file of this process."""

    def __init__(self, log_dir: Path, rate: float, rows: int) -> None:
        self.rate = rate
        self.rows = rows
        self.folder = log_folder(log_dir)
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


# The reading side of the same format (monitoring reads it): one module owns what a line holds.
def log_files(folder: Path) -> list[Path]:
    """The server workers' request logs in the folder and their rotated copies."""
    if not folder.is_dir():
        return []
    return sorted(path for path in folder.iterdir() if LOG_FILE.search(path.name))


def records(path: Path) -> Iterator[dict[str, Any] | None]:
    """Each line's record, or None for a line that is not a whole one."""
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    yield None
                    continue
                whole = (
                    isinstance(record, dict)
                    and isinstance(record.get("features"), dict)
                    and "prediction" in record
                )
                yield record if whole else None
    except FileNotFoundError:
        return  # rotated away since the folder was listed: its rows are in the next copy
